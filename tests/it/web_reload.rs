//! `--web.config.file` while running and at start-up: a reload never turns TLS or
//! authentication off (a truncated file, the first step of a non-atomic rewrite, included);
//! settings the exporter would ignore or that would break responses are refused.

use std::time::{Duration, Instant};

use crate::util::{TempLogs, exporter_bin};
use crate::web::{client_config, https_get, make_pki, start, write};

#[test]
fn a_truncated_or_weakened_web_config_keeps_tls_and_auth() {
    let logs = TempLogs::new();
    let dir = logs.tmp.path();
    let pki = make_pki();
    write(dir, "server.crt", &pki.server_cert);
    write(dir, "server.key", &pki.server_key);
    let tls = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n";
    let hash = bcrypt::hash("right horse", 4).unwrap();
    let cfg = dir.join("web.yml");
    std::fs::write(
        &cfg,
        format!("{tls}basic_auth_users:\n  prometheus: '{hash}'\n"),
    )
    .unwrap();
    let ex = start(&logs, &cfg, &[]);
    let client = client_config(&pki, false);
    let good = Some(("prometheus", "right horse"));
    assert_eq!(
        https_get(ex.addr, client.clone(), "/metrics", good)
            .unwrap()
            .0,
        200
    );

    // Truncated, as by `> web.yml` before the new text is written.
    std::fs::File::create(&cfg).unwrap();
    ex.wait_log("cannot reload the web config file");
    assert!(
        ex.log().contains("turns TLS off"),
        "the log does not say why:\n{}",
        ex.log()
    );
    assert!(
        !ex.log().contains("web config file reloaded"),
        "{}",
        ex.log()
    );
    // Plain HTTP on the TLS port serves nothing; HTTPS still asks for the password.
    let plain = std::panic::catch_unwind(|| crate::util::http_get(ex.addr, "/metrics"));
    assert!(!matches!(plain, Ok((200, _))), "plain HTTP was served");
    assert_eq!(
        https_get(ex.addr, client.clone(), "/metrics", None)
            .unwrap()
            .0,
        401
    );
    assert_eq!(
        https_get(ex.addr, client.clone(), "/metrics", good)
            .unwrap()
            .0,
        200
    );

    // TLS kept but the users removed: refused as well.
    std::fs::write(&cfg, tls).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while ex
        .log()
        .matches("cannot reload the web config file")
        .count()
        < 2
    {
        assert!(Instant::now() < deadline, "{}", ex.log());
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        ex.log().contains("turns basic authentication off"),
        "{}",
        ex.log()
    );
    assert_eq!(
        https_get(ex.addr, client.clone(), "/metrics", None)
            .unwrap()
            .0,
        401
    );

    // The whole new file, with another password, applies.
    let new_hash = bcrypt::hash("new horse", 4).unwrap();
    std::fs::write(
        &cfg,
        format!("{tls}basic_auth_users:\n  prometheus: '{new_hash}'\n"),
    )
    .unwrap();
    ex.wait_log("web config file reloaded");
    assert_eq!(
        https_get(
            ex.addr,
            client.clone(),
            "/metrics",
            Some(("prometheus", "new horse"))
        )
        .unwrap()
        .0,
        200
    );
    assert_eq!(https_get(ex.addr, client, "/metrics", good).unwrap().0, 401);
}

/// Refused at start-up with the setting named, like the exporter-toolkit: a client CA that
/// nothing uses, and a header outside the security headers.
#[test]
fn ignored_or_dangerous_settings_stop_the_start() {
    let logs = TempLogs::new();
    let dir = logs.tmp.path();
    let pki = make_pki();
    write(dir, "server.crt", &pki.server_cert);
    write(dir, "server.key", &pki.server_key);
    write(dir, "ca.crt", &pki.ca);
    let cases = [
        (
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_ca_file: ca.crt\n",
            "client_auth_type",
        ),
        (
            "http_server_config:\n  headers:\n    Content-Length: \"5\"\n",
            "Content-Length",
        ),
        (
            "http_server_config:\n  headers:\n    X-Frame-Options: allow-from\n",
            "X-Frame-Options",
        ),
    ];
    for (text, needle) in cases {
        let cfg = dir.join("web.yml");
        std::fs::write(&cfg, text).unwrap();
        let out = crate::util::output_of(std::process::Command::new(exporter_bin()).args([
            "--web.config.file",
            cfg.to_str().unwrap(),
            "--web.listen-address",
            "127.0.0.1:0",
            "--xmail.log-dir",
            logs.xmail.to_str().unwrap(),
        ]));
        assert!(!out.status.success(), "{text}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(needle) && err.contains("web.yml"),
            "{text}: {err}"
        );
        assert_eq!(err.trim().lines().count(), 1, "not one line: {err}");
    }
}
