//! Subjects and the sublist. (being written)
