//! Checking a CONNECT's credentials against the configured [`AuthConfig`].
//!
//! Plain comparisons are done here; a bcrypt hash is expensive (tens to hundreds of
//! milliseconds), so it is handed back as a job for the host to run off the driver's thread.

use crate::config::AuthConfig;

/// What the credentials in a CONNECT amount to.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum AuthCheck {
    Allowed,
    Denied,
    /// Allowed if `password` matches the bcrypt `hash` (see `broker::Work`).
    Bcrypt {
        password: String,
        hash: String,
    },
}

/// nats-server treats a password starting with `$2` as bcrypt (server/auth.go `isBcrypt`).
fn is_bcrypt(password: &str) -> bool {
    password.starts_with("$2")
}

/// Equal-length comparison that does not stop at the first difference, so response time does
/// not reveal how much of a secret matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub(crate) fn check(
    auth: &AuthConfig,
    user: Option<&str>,
    pass: Option<&str>,
    token: Option<&str>,
) -> AuthCheck {
    match auth {
        AuthConfig::None => AuthCheck::Allowed,
        AuthConfig::Token(expected) => {
            let given = token.unwrap_or_default();
            if is_bcrypt(expected) {
                return AuthCheck::Bcrypt {
                    password: given.to_string(),
                    hash: expected.clone(),
                };
            }
            if constant_time_eq(given.as_bytes(), expected.as_bytes()) {
                AuthCheck::Allowed
            } else {
                AuthCheck::Denied
            }
        }
        AuthConfig::Users(users) => {
            let (Some(user), pass) = (user, pass.unwrap_or_default()) else {
                return AuthCheck::Denied;
            };
            let Some(entry) = users.iter().find(|u| u.user == user) else {
                return AuthCheck::Denied;
            };
            if is_bcrypt(&entry.password) {
                AuthCheck::Bcrypt {
                    password: pass.to_string(),
                    hash: entry.password.clone(),
                }
            } else if constant_time_eq(pass.as_bytes(), entry.password.as_bytes()) {
                AuthCheck::Allowed
            } else {
                AuthCheck::Denied
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::User;

    fn users() -> AuthConfig {
        AuthConfig::Users(vec![
            User {
                user: "alice".into(),
                password: "secret".into(),
            },
            User {
                user: "bob".into(),
                password: "$2a$04$abcdefghijklmnopqrstuu".into(),
            },
        ])
    }

    #[test]
    fn no_auth_allows_anything() {
        assert_eq!(
            check(&AuthConfig::None, None, None, None),
            AuthCheck::Allowed
        );
    }

    #[test]
    fn token_must_match_exactly() {
        let auth = AuthConfig::Token("s3cr3t".into());
        assert_eq!(check(&auth, None, None, Some("s3cr3t")), AuthCheck::Allowed);
        assert_eq!(check(&auth, None, None, Some("s3cr3")), AuthCheck::Denied);
        assert_eq!(check(&auth, None, None, None), AuthCheck::Denied);
    }

    #[test]
    fn users_plain_and_bcrypt() {
        let auth = users();
        assert_eq!(
            check(&auth, Some("alice"), Some("secret"), None),
            AuthCheck::Allowed
        );
        assert_eq!(
            check(&auth, Some("alice"), Some("wrong"), None),
            AuthCheck::Denied
        );
        assert_eq!(check(&auth, Some("alice"), None, None), AuthCheck::Denied);
        assert_eq!(check(&auth, None, Some("secret"), None), AuthCheck::Denied);
        assert_eq!(
            check(&auth, Some("carol"), Some("x"), None),
            AuthCheck::Denied
        );
        assert!(matches!(
            check(&auth, Some("bob"), Some("pw"), None),
            AuthCheck::Bcrypt { .. }
        ));
    }

    #[test]
    fn bcrypt_job_verifies_real_hashes() {
        let hash = bcrypt::hash("pw", 4).expect("cost 4 is valid");
        assert!(bcrypt::verify("pw", &hash).unwrap_or(false));
        assert!(!bcrypt::verify("nope", &hash).unwrap_or(false));
    }
}
