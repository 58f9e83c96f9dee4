// The one place for the scrape selector, thresholds and the runbook links: every generated
// alert, recording rule and dashboard query reads these. Override in your own jsonnet:
//
//   (import 'mixin.libsonnet') + { _config+:: { selector: 'job="mail"', profile: 'large' } }
//
// or edit this file and run scripts/mixin.sh (scripts/mixin.sh --check verifies that the
// committed files are what this file generates).
{
  _config+:: {
    // Selects this exporter's series (the scrape job). Every generated query uses it: the
    // recording rules and the raw-metric alerts apply it, and the alerts over recorded
    // series (job_instance:*) read what the recording rules already selected.
    selector: 'job="xmail"',
    // Dashboard variables: the label that names the scrape job and the one that names a host.
    jobLabel: 'job',
    instanceLabel: 'instance',
    // Default of the overview's `console_scheme` variable: how the exporter's web console
    // (--web.enable-console) is reached. The console is served on the address Prometheus
    // scrapes (the instance label, host:port), so the dashboard links to
    // <scheme>://<instance>/. 'https' when --web.config.file sets TLS, 'http' otherwise; the
    // variable still offers both.
    consoleScheme: 'https',

    // runbook_url of each alert: runbookBase + '#' + the alert name in lower case (the
    // anchors of docs/runbook.md). `.invalid` never resolves (RFC 2606): point it at your copy
    // with scripts/set-runbook-base.sh (edits this line and the generated files).
    runbookBase: 'https://xmail-exporter.invalid/docs/runbook.md',
    runbookUrl(alert):: self.runbookBase + '#' + std.asciiLower(alert),

    // Which threshold profile the alerts use: 'small' (a few hundred messages a day, quiet
    // nights) or 'large' (tens of thousands a day, a constant background of refusals, a
    // retry queue that is never empty). docs/runbook.md lists each threshold per alert.
    profile: 'small',
    thresholds: self.profiles[self.profile],

    // Every number an alert uses. "per hour" values are compared with the recorded 1-hour
    // rates (job_instance:*:rate1h * 3600). Baselines are "the same time one week earlier"
    // (offset 1w): mail follows the working week, so the same hour of the same weekday is the
    // fairest comparison, and a quiet night is compared with a quiet night.
    profiles:: {
      small: {
        // Exporter unreachable this long before XmailExporterDown (critical). When the mail
        // host dies this is the only alert left, so it must page; 15m rides out an exporter
        // or host restart and a few failed scrapes.
        exporterDownFor: '15m',
        // XmailLogsSilent: the newest SMTP, SMAIL and POP3 line are all older than this
        // while, one week earlier, they were not. A small MX still sees botnet probes and
        // POP3 polling every few minutes at night, so an hour of total silence is abnormal;
        // 1h + for 20m fires ~1h25m after XMail stops (< 2h).
        logsSilentSeconds: 3600,
        logsSilentFor: '20m',
        // ... and, on a host with less than a week of history (a new install: no baseline
        // to compare with), all three older than this: 1.5h + for 20m fires ~1h50m after
        // XMail stops, still within two hours, and rides out a quiet hour without POP3.
        logsSilentNoBaselineSeconds: 5400,
        // XmailNoDeliveries: at least this many messages received in the last hour and none
        // delivered. 3/h: a small server receives ~12/h in working hours, so a stuck queue
        // shows within the hour; fires ~1h15m after the last delivery.
        noDeliveriesMinReceivedPerHour: 3,
        noDeliveriesFor: '15m',
        // Hosts whose SMAIL log had an event within this many seconds (7d): hosts without
        // SMAIL logging (-Ql) never fire.
        smailActiveWithinSeconds: 7 * 86400,
        // XmailSpoolQueuedStuck: the oldest message of the `queued` queue (never attempted)
        // is older than this. XMail picks new messages up within seconds.
        queuedAgeSeconds: 1800,
        queuedAgeFor: '10m',
        // XmailRecipientAcceptanceDrop: accepted / (accepted + refused) recipients of the last
        // hour below factor x the same hour a week earlier, with at least minRefused
        // refusals now and minAcceptedLastWeek acceptances then (so that a night with
        // nothing accepted is never compared with anything).
        acceptanceFactor: 0.5,
        acceptanceMinRefusedPerHour: 30,
        acceptanceMinAcceptedLastWeekPerHour: 5,
        acceptanceFor: '30m',
        // XmailDnsblRefusalSpike: one DNSBL refused more than this per hour, and more than
        // factor x its rate of the same hour a week earlier (or there is no such history).
        dnsblMinPerHour: 100,
        dnsblFactor: 3,
        dnsblFor: '15m',
        // XmailSmtpAuthFailureBurst / XmailPop3LoginFailureBurst: failures in 5 minutes.
        // Background guessing is a few an hour on a small server.
        authFailuresPer5m: 30,
        pop3FailuresPer5m: 30,
        burstFor: '5m',
        // XmailCtrlLoginFailures: failed logins on XMail's CTRL (admin) port in 15 minutes.
        // Only administrators and their tools log in there: a typo is one or two failures,
        // a guessing script makes dozens. Does not grow with the mail volume.
        ctrlFailuresPer15m: 10,
        ctrlFor: '5m',
        // XmailPsyncFailing: every external POP3 sync of the last hour failed (SYNC=EFAIL,
        // SYNC=ENOUSER), at least this many, none succeeded; a host without PSYNC logging
        // (-Yl) has no failures and never fires.
        psyncMinFailuresPerHour: 3,
        psyncFor: '15m',
        // XmailFilterErrors: filter runs that could not run (result="error") of one stage,
        // more than this in 15 minutes, for 15 minutes: a single broken run clears itself.
        filterErrorsPer15m: 0,
        filterErrorsFor: '15m',
        // XmailFilterRejectSpike: one filter stage rejected more than this per hour, and
        // more than factor x its rate of the same hour a week earlier (or no such history).
        filterRejectMinPerHour: 30,
        filterRejectFactor: 3,
        filterRejectFor: '15m',
        // XmailBounceSpike: bounces per hour, their share of the deliveries, and factor x the
        // same hour a week earlier (or no such history).
        bounceMinPerHour: 10,
        bounceRatio: 0.2,
        bounceFactor: 3,
        bounceFor: '15m',
        // XmailWebmailErrorBurst: webmail errors (not lines) of one category in 10 minutes.
        webmailErrorsPer10m: 10,
        webmailFor: '10m',
        // XmailSpoolFrozenGrowing: frozen messages above the lowest count of the last hour.
        frozenGrowthPerHour: 10,
        frozenFor: '5m',
        // XmailSpoolRetryBacklog: retry messages older than 4h above this floor and above
        // factor x the count a week earlier (or no such history). One message to a dead
        // domain stays ~13h in retry with XMail's default schedule: a few are background.
        retryOld4hFloor: 5,
        retryOld4hFactor: 2,
        retryOldFor: '1h',
        // XmailDeliveryDelayHigh: p90 of RECV=OK -> remote delivery over 30m, with at least
        // minDeliveries remote deliveries in the 30 minutes.
        deliveryDelayP90Seconds: 600,
        deliveryDelayMinDeliveries: 5,
        deliveryDelayFor: '30m',
        // Exporter health.
        malformedRatio: 0.05,
        malformedMinLines: 10,
        lagBytes: 1048576,
        spoolScanErrorsPer15m: 3,
      },
      large: self.small {
        // A busy MX is never quiet for long: 30 minutes without any log line is an outage;
        // fires ~45 minutes after the stop.
        logsSilentSeconds: 1800,
        logsSilentFor: '10m',
        logsSilentNoBaselineSeconds: 3600,
        noDeliveriesMinReceivedPerHour: 100,
        noDeliveriesFor: '10m',
        queuedAgeSeconds: 900,
        queuedAgeFor: '5m',
        acceptanceMinRefusedPerHour: 500,
        acceptanceMinAcceptedLastWeekPerHour: 200,
        acceptanceFor: '15m',
        dnsblMinPerHour: 2000,
        authFailuresPer5m: 150,
        pop3FailuresPer5m: 150,
        ctrlFailuresPer15m: 20,
        filterErrorsPer15m: 5,
        filterRejectMinPerHour: 500,
        bounceMinPerHour: 300,
        bounceRatio: 0.1,
        webmailErrorsPer10m: 50,
        frozenGrowthPerHour: 50,
        retryOld4hFloor: 50,
        deliveryDelayMinDeliveries: 100,
        deliveryDelayFor: '15m',
        lagBytes: 4 * 1048576,
      },
    },
  },
}
