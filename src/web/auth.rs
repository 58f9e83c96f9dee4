//! `basic_auth_users`: checking a request's `Authorization` header against bcrypt hashes,
//! without letting a flood of wrong passwords starve good scrapes.
//!
//! bcrypt is slow on purpose (tens of milliseconds per check at cost 10). So:
//! - every outcome is remembered, successes and failures apart, keyed by a SHA-256 of the
//!   user, the password *and the configured hash*: a changed password or a removed user is
//!   never answered from the cache, and a client that keeps sending the same wrong password
//!   costs one bcrypt run, not one per request. Successes have their own bounded list, so
//!   failures cannot push a good scraper out;
//! - the cache is looked up before anything waits, and bcrypt runs one check at a time on
//!   the blocking pool: a flood of new wrong passwords queues behind itself and uses one
//!   core, while a scraper whose credentials verified before is answered at once;
//! - an unknown user name is checked against a decoy hash of the highest configured cost,
//!   so it takes as long as a wrong password.
//!
//! The users and their hashes come from [`super::format::WebConfig`]; the cache and the bcrypt lock
//! live in [`Authenticator`], which [`super::reload::WebConfigSource`] keeps across reloads.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use base64::Engine;

/// The outcome of checking a request's credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Auth {
    /// No users are configured, or the credentials are right.
    Allowed,
    /// Missing or wrong credentials.
    Denied,
}

/// The configured users: name -> bcrypt hash, and the decoy hash for unknown names.
#[derive(Clone, Debug, Default)]
pub struct Users {
    hashes: HashMap<String, String>,
    decoy: String,
}

/// A bcrypt hash of a random password at cost 10 (the usual cost), the decoy when that is
/// the highest configured cost.
const DECOY_HASH: &str = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi";

impl Users {
    /// Users from `basic_auth_users`; every hash must already be a valid bcrypt hash. The
    /// decoy is made at the highest cost among them (once per load).
    pub fn new(hashes: HashMap<String, String>) -> Users {
        let cost = hashes
            .values()
            .filter_map(|h| h.parse::<bcrypt::HashParts>().ok())
            .map(|p| p.get_cost())
            .max()
            .unwrap_or(10);
        let decoy = if cost == 10 {
            DECOY_HASH.to_string()
        } else {
            bcrypt::hash(random_password(), cost).unwrap_or_else(|_| DECOY_HASH.to_string())
        };
        Users { hashes, decoy }
    }

    /// Are credentials asked for?
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// Is `name` a configured user?
    pub fn contains(&self, name: &str) -> bool {
        self.hashes.contains_key(name)
    }

    /// The hash to check `user` against, and whether the user exists.
    fn hash_for(&self, user: &str) -> (&str, bool) {
        match self.hashes.get(user) {
            Some(h) => (h, true),
            None => (&self.decoy, false),
        }
    }
}

fn random_password() -> String {
    let mut bytes = [0u8; 18];
    // A decoy that nobody can match; without randomness it is still never a configured one.
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes);
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// How many verified credentials are remembered (one per scraper is enough).
pub const OK_CACHE: usize = 64;
/// How many wrong credentials are remembered.
pub const FAILED_CACHE: usize = 4096;

type Digest = [u8; 32];

#[derive(Default)]
struct Cache {
    ok: VecDeque<Digest>,
    failed: VecDeque<Digest>,
}

impl Cache {
    fn get(&self, d: &Digest) -> Option<bool> {
        if self.ok.contains(d) {
            Some(true)
        } else if self.failed.contains(d) {
            Some(false)
        } else {
            None
        }
    }

    fn put(&mut self, d: Digest, ok: bool) {
        let (list, cap) = if ok {
            (&mut self.ok, OK_CACHE)
        } else {
            (&mut self.failed, FAILED_CACHE)
        };
        if list.contains(&d) {
            return;
        }
        if list.len() >= cap {
            list.pop_front();
        }
        list.push_back(d);
    }
}

/// Checks credentials: the cache, then bcrypt one at a time. Shared by every connection.
#[derive(Default)]
pub struct Authenticator {
    cache: Mutex<Cache>,
    /// Held while bcrypt runs, so only one check runs at a time.
    bcrypt: Arc<tokio::sync::Mutex<()>>,
}

impl Authenticator {
    /// Checks an `Authorization` header against `users`. Waits for its turn at bcrypt only
    /// when these exact credentials were never checked against these hashes.
    pub async fn check(&self, users: &Users, authorization: Option<&[u8]>) -> Auth {
        if users.is_empty() {
            return Auth::Allowed;
        }
        let Some((user, password)) = authorization.and_then(parse_basic) else {
            return Auth::Denied;
        };
        let (hash, known) = users.hash_for(&user);
        let digest = credentials_digest(&user, &password, hash);
        if let Some(ok) = self.cached(&digest) {
            return verdict(ok && known);
        }
        let turn = self.bcrypt.clone().lock_owned().await;
        // Another request may have checked the same credentials while this one waited.
        if let Some(ok) = self.cached(&digest) {
            return verdict(ok && known);
        }
        let hash = hash.to_string();
        // The lock goes with the work: a request dropped while bcrypt runs does not let
        // the next one start beside it.
        let ok = tokio::task::spawn_blocking(move || {
            let _turn = turn;
            bcrypt::verify(&password, &hash).unwrap_or(false)
        })
        .await
        .unwrap_or(false);
        let ok = ok && known;
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .put(digest, ok);
        verdict(ok)
    }

    fn cached(&self, d: &Digest) -> Option<bool> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner()).get(d)
    }
}

fn verdict(ok: bool) -> Auth {
    if ok { Auth::Allowed } else { Auth::Denied }
}

fn credentials_digest(user: &str, password: &str, hash: &str) -> Digest {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for part in [user, password, hash] {
        ctx.update(&(part.len() as u64).to_le_bytes());
        ctx.update(part.as_bytes());
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// The user name of a `Basic` `Authorization` header (whether its password is right is
/// [`Authenticator::check`]'s).
pub fn basic_user(header: &[u8]) -> Option<String> {
    parse_basic(header).map(|(user, _)| user)
}

/// `Basic base64(user:password)` -> (user, password).
fn parse_basic(header: &[u8]) -> Option<(String, String)> {
    let header = std::str::from_utf8(header).ok()?;
    let (scheme, value) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(u: &str, pw: &str) -> Vec<u8> {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{u}:{pw}"))
        )
        .into_bytes()
    }

    fn users(pairs: &[(&str, &str)]) -> Users {
        Users::new(
            pairs
                .iter()
                .map(|(u, pw)| (u.to_string(), bcrypt::hash(pw, 4).unwrap()))
                .collect(),
        )
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn basic_auth() {
        let a = Authenticator::default();
        let u = users(&[("prometheus", "s3cret")]);
        block_on(async {
            for _ in 0..2 {
                assert_eq!(
                    a.check(&u, Some(&header("prometheus", "s3cret"))).await,
                    Auth::Allowed
                );
            }
            for _ in 0..2 {
                assert_eq!(
                    a.check(&u, Some(&header("prometheus", "wrong"))).await,
                    Auth::Denied
                );
            }
            assert_eq!(
                a.check(&u, Some(&header("nobody", "s3cret"))).await,
                Auth::Denied
            );
            assert_eq!(a.check(&u, Some(b"Bearer x")).await, Auth::Denied);
            assert_eq!(a.check(&u, None).await, Auth::Denied);
            assert_eq!(a.check(&Users::default(), None).await, Auth::Allowed);
        });
        let c = a.cache.lock().unwrap();
        assert_eq!((c.ok.len(), c.failed.len()), (1, 2));
    }

    /// The cache key holds the hash: after a password change the old password is checked
    /// again (and fails), and a removed user is unknown.
    #[test]
    fn a_changed_password_is_not_served_from_the_cache() {
        let a = Authenticator::default();
        let before = users(&[("prometheus", "old"), ("grafana", "g")]);
        let after = users(&[("prometheus", "new")]);
        block_on(async {
            assert_eq!(
                a.check(&before, Some(&header("prometheus", "old"))).await,
                Auth::Allowed
            );
            assert_eq!(
                a.check(&before, Some(&header("grafana", "g"))).await,
                Auth::Allowed
            );
            assert_eq!(
                a.check(&after, Some(&header("prometheus", "old"))).await,
                Auth::Denied
            );
            assert_eq!(
                a.check(&after, Some(&header("grafana", "g"))).await,
                Auth::Denied
            );
            assert_eq!(
                a.check(&after, Some(&header("prometheus", "new"))).await,
                Auth::Allowed
            );
        });
    }

    /// Failures never push a verified scraper out of the cache.
    #[test]
    fn failures_do_not_evict_successes() {
        let mut c = Cache::default();
        c.put([1; 32], true);
        for i in 0..(FAILED_CACHE + 10) {
            let mut d = [0u8; 32];
            d[..8].copy_from_slice(&(i as u64).to_le_bytes());
            d[31] = 2;
            c.put(d, false);
        }
        assert_eq!(c.get(&[1; 32]), Some(true));
        assert_eq!(c.failed.len(), FAILED_CACHE);
        for i in 0..(OK_CACHE + 1) {
            c.put([i as u8 + 10; 32], true);
        }
        assert_eq!(c.ok.len(), OK_CACHE);
        assert_eq!(c.get(&[1; 32]), None);
    }

    #[test]
    fn the_decoy_is_a_valid_bcrypt_hash_of_the_highest_cost() {
        assert!(DECOY_HASH.parse::<bcrypt::HashParts>().is_ok());
        assert!(!bcrypt::verify("", DECOY_HASH).unwrap());
        let u = Users::new(HashMap::from([
            ("a".to_string(), bcrypt::hash("x", 4).unwrap()),
            ("b".to_string(), bcrypt::hash("y", 5).unwrap()),
        ]));
        assert_eq!(u.decoy.parse::<bcrypt::HashParts>().unwrap().get_cost(), 5);
        let usual = Users::new(HashMap::from([("a".to_string(), DECOY_HASH.to_string())]));
        assert_eq!(usual.decoy, DECOY_HASH);
    }
}
