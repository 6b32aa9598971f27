//! Client protocol: parser, encoders, the -ERR table. (being written)
