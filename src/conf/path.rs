//! Go's `filepath.Dir`, `Join` and `Clean` for slash-separated paths, on strings only: the
//! core resolves `include` paths without touching the file system, and must resolve them as
//! nats-server does (`include` is joined to the including file's directory even when absolute).

/// The directory of `path`, as Go's `filepath.Dir`: `.` for a bare file name.
pub fn go_path_dir(path: &str) -> String {
    let head = match path.rfind('/') {
        Some(slash) => &path[..=slash],
        None => "",
    };
    clean(head)
}

/// `dir` and `name` joined and cleaned, as Go's `filepath.Join(dir, name)`. An absolute `name`
/// stays under `dir`, as in Go.
pub fn go_path_join(dir: &str, name: &str) -> String {
    match (dir.is_empty(), name.is_empty()) {
        (true, true) => String::new(),
        (true, false) => clean(name),
        (false, true) => clean(dir),
        (false, false) => clean(&format!("{dir}/{name}")),
    }
}

/// Go's `filepath.Clean`: no repeated or trailing slashes, no `.` elements, `..` applied
/// where it can be (never above the root), `.` for an empty result.
fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if rooted => {}
                _ => parts.push(".."),
            },
            _ => parts.push(part),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    }
}
