// Alert rules (deploy/prometheus/alerts.yml). Thresholds come from
// $._config.thresholds (config.libsonnet: the small and large profiles, with reasons);
// docs/runbook.md has one section per alert.
//
// Severity scheme (written into the generated file's header too):
//   critical  mail is not flowing or is being lost, or nobody can tell (the exporter is
//             down or gone): act now, also at night.
//   warning   something needs a look in working hours; mail still flows.
//   info      an event worth recording; never pages.
{
  prometheusAlerts+:: {
    local c = $._config,
    local t = c.thresholds,
    // Everything an expression template may name: %(selector)s and every threshold.
    local v = t { selector: c.selector },
    local alert(name, severity, expr, summary, description, forDuration=null, comment=null) =
      { alert: name, expr: expr % v }
      + (if forDuration == null then {} else { 'for': forDuration })
      + {
        labels: { severity: severity },
        annotations: {
          summary: summary % v,
          description: description % v,
          runbook_url: c.runbookUrl(name),
        },
      },
    groups+: [
      {
        name: 'xmail-availability',
        rules: [
          // When the mail host itself dies, this is the only signal left: critical, after
          // long enough to ride out a restart or a few failed scrapes.
          alert(
            'XmailExporterDown', 'critical',
            'up{%(selector)s} == 0',
            'xmail_exporter on {{ $labels.instance }} is unreachable',
            'Prometheus has not scraped xmail_exporter at {{ $labels.instance }} (job {{ $labels.job }}) for %(exporterDownFor)s. Either the exporter or the whole mail host is down: nobody can tell whether mail flows, and every other XMail alert of this host is blind.',
            t.exporterDownFor,
          ),
          alert(
            'XmailExporterAbsent', 'critical',
            'absent(up{%(selector)s})',
            'No xmail_exporter target is known to Prometheus',
            'Prometheus has had no target matching {%(selector)s} for 15 minutes: the scrape configuration or service discovery lost the exporter, so nothing about XMail is monitored.',
            '15m',
          ),
        ],
      },
      {
        name: 'xmail-mail-flow',
        rules: [
          // The newest event time is restored from the state file, so an exporter restart
          // does not reset it. The current age reads the gauge itself (one sample per log),
          // not the recorded age, so $value does not depend on the order of rule groups. "Normally active": one week earlier the same logs were not
          // silent this long (a host that is quiet at that hour every week never fires).
          alert(
            'XmailLogsSilent', 'critical',
            |||
              (
                time() - max by (job, instance) (xmail_exporter_log_last_event_timestamp_seconds{%(selector)s, log=~"smtp|smail|pop3"} > 0) > %(logsSilentSeconds)s
                and on (job, instance)
                min by (job, instance) (job_instance:xmail_log_last_event_age:seconds{log=~"smtp|smail|pop3"} offset 1w) < %(logsSilentSeconds)s
              )
              or
              (
                time() - max by (job, instance) (xmail_exporter_log_last_event_timestamp_seconds{%(selector)s, log=~"smtp|smail|pop3"} > 0) > %(logsSilentNoBaselineSeconds)s
                unless on (job, instance)
                job_instance:xmail_log_last_event_age:seconds{log=~"smtp|smail|pop3"} offset 1w
              )
            |||,
            'XMail on {{ $labels.instance }} has written no log line for {{ $value | humanizeDuration }}',
            'The newest SMTP, SMAIL and POP3 log lines xmail_exporter has read on {{ $labels.instance }} are all older than {{ $value | humanizeDuration }} (threshold %(logsSilentSeconds)ss while one week ago at this time they were not, or %(logsSilentNoBaselineSeconds)ss on a host with less than a week of history). XMail is down or unreachable, or it no longer writes its logs (full disk, -Sl/-Ql/-Pl switches, another log directory).',
            t.logsSilentFor,
          ),
          // Received > minimum and delivered == 0 (or no delivery series at all) over the
          // last hour. Hosts without SMAIL logging have no smail last-event age and never fire.
          alert(
            'XmailNoDeliveries', 'critical',
            |||
              job_instance:xmail_mail_received:rate1h * 3600 >= %(noDeliveriesMinReceivedPerHour)s
              unless on (job, instance) job_instance:xmail_mail_delivered:rate1h > 0
              and on (job, instance) job_instance:xmail_log_last_event_age:seconds{log="smail"} < %(smailActiveWithinSeconds)s
            |||,
            'XMail on {{ $labels.instance }} receives mail but delivers none',
            'XMail on {{ $labels.instance }} received {{ $value | humanize }} messages in the last hour (threshold %(noDeliveriesMinReceivedPerHour)s) but delivered none: the queue is stuck (SMAIL threads hang, spool or mailbox disk full), or the SMAIL log is no longer written.',
            t.noDeliveriesFor,
          ),
          // Per-recipient decisions only (xmail_smtp_recipients_total): connection, sender,
          // AUTH and content refusals are not in the ratio.
          alert(
            'XmailRecipientAcceptanceDrop', 'warning',
            |||
              (
                  (job_instance:xmail_smtp_recipients_accepted:rate1h or on (job, instance) 0 * job_instance:xmail_smtp_recipients_refused:rate1h)
                / on (job, instance)
                  (
                      (job_instance:xmail_smtp_recipients_accepted:rate1h or on (job, instance) 0 * job_instance:xmail_smtp_recipients_refused:rate1h)
                    + on (job, instance) job_instance:xmail_smtp_recipients_refused:rate1h
                  )
              )
              < on (job, instance) %(acceptanceFactor)s * (
                  (job_instance:xmail_smtp_recipients_accepted:rate1h offset 1w)
                / on (job, instance)
                  (
                      (job_instance:xmail_smtp_recipients_accepted:rate1h offset 1w)
                    + on (job, instance) (job_instance:xmail_smtp_recipients_refused:rate1h offset 1w or on (job, instance) 0 * (job_instance:xmail_smtp_recipients_accepted:rate1h offset 1w))
                  )
              )
              and on (job, instance) job_instance:xmail_smtp_recipients_refused:rate1h * 3600 >= %(acceptanceMinRefusedPerHour)s
              and on (job, instance) (job_instance:xmail_smtp_recipients_accepted:rate1h offset 1w) * 3600 >= %(acceptanceMinAcceptedLastWeekPerHour)s
            |||,
            'Only {{ $value | humanizePercentage }} of SMTP recipients accepted on {{ $labels.instance }}',
            'In the last hour XMail on {{ $labels.instance }} accepted only {{ $value | humanizePercentage }} of the recipients offered, less than %(acceptanceFactor)s times the share of the same hour one week ago (with at least %(acceptanceMinRefusedPerHour)s refusals now). A dictionary attack (unknown users), or a change that refuses legitimate mail (relay rules, DNS, a filter).',
            t.acceptanceFor,
          ),
          alert(
            'XmailDnsblRefusalSpike', 'warning',
            |||
              sum by (job, instance, list) (rate(xmail_smtp_dnsbl_refusals_total{%(selector)s}[1h])) * 3600 > %(dnsblMinPerHour)s
              unless on (job, instance, list)
                sum by (job, instance, list) (rate(xmail_smtp_dnsbl_refusals_total{%(selector)s}[1h]))
              <= %(dnsblFactor)s * sum by (job, instance, list) (rate(xmail_smtp_dnsbl_refusals_total{%(selector)s}[1h] offset 1w))
            |||,
            'DNSBL {{ $labels.list }} refused {{ $value | printf "%%.0f" }} clients in an hour on {{ $labels.instance }}',
            'DNSBL {{ $labels.list }} refused {{ $value | printf "%%.0f" }} SMTP clients on {{ $labels.instance }} in the last hour (threshold %(dnsblMinPerHour)s), more than %(dnsblFactor)s times the same hour one week ago. A spam wave, or the list answers "listed" for everyone (dead list, blocked resolver) and real mail is refused.',
            t.dnsblFor,
          ),
          alert(
            'XmailSmtpAuthFailureBurst', 'warning',
            'job_instance:xmail_smtp_auth_failures:rate5m * 300 > %(authFailuresPer5m)s',
            'SMTP AUTH failure burst on {{ $labels.instance }}',
            '{{ $value | printf "%%.0f" }} SMTP AUTH attempts failed on {{ $labels.instance }} in the last 5 minutes (threshold %(authFailuresPer5m)s): password guessing, or a client with a stale password. Check the client IPs of the AUTH=EFAIL lines.',
            t.burstFor,
          ),
          alert(
            'XmailPop3LoginFailureBurst', 'warning',
            'job_instance:xmail_pop3_login_failures:rate5m * 300 > %(pop3FailuresPer5m)s',
            'POP3 login failure burst on {{ $labels.instance }}',
            '{{ $value | printf "%%.0f" }} POP3 logins failed on {{ $labels.instance }} in the last 5 minutes (threshold %(pop3FailuresPer5m)s): password guessing, or a client with a stale password. Check the client IPs of the ELOGIN lines.',
            t.burstFor,
          ),
          // Admin-port logins (ctrl log, -Cl). Only where the log is written: no failures
          // otherwise.
          alert(
            'XmailCtrlLoginFailures', 'warning',
            'sum by (job, instance) (increase(xmail_ctrl_logins_total{%(selector)s, result="failed"}[15m])) >= %(ctrlFailuresPer15m)s',
            'Failed logins on the XMail admin port of {{ $labels.instance }}',
            '{{ $value | printf "%%.0f" }} logins on the XMail CTRL (admin) port of {{ $labels.instance }} failed in the last 15 minutes (threshold %(ctrlFailuresPer15m)s): someone guesses the administrator password, or an admin tool uses an old one. Check the client IPs of the FAIL lines of the ctrl log.',
            t.ctrlFor,
          ),
          // External POP3 accounts (psync log, -Yl): failures and not one success in an hour.
          // A single dead account among working ones is not this alert.
          alert(
            'XmailPsyncFailing', 'warning',
            |||
              sum by (job, instance) (increase(xmail_psync_syncs_total{%(selector)s, result=~"failed|no_user"}[1h])) >= %(psyncMinFailuresPerHour)s
              unless on (job, instance)
                sum by (job, instance) (increase(xmail_psync_syncs_total{%(selector)s, result="ok"}[1h])) > 0
            |||,
            'Every POP3 sync of the last hour failed on {{ $labels.instance }}',
            '{{ $value | printf "%%.0f" }} syncs of external POP3 accounts (POP3LINKS) failed on {{ $labels.instance }} in the last hour and none succeeded (threshold %(psyncMinFailuresPerHour)s failures): the remote POP3 servers cannot be reached (DNS, network, firewall), or their passwords or the local users are gone. Mail of those accounts is not fetched.',
            t.psyncFor,
          ),
          // Filters that could not run (filters log, -Qg), per stage: not rejections.
          alert(
            'XmailFilterErrors', 'warning',
            'sum by (job, instance, stage) (increase(xmail_filter_runs_total{%(selector)s, result="error"}[15m])) > %(filterErrorsPer15m)s',
            'XMail {{ $labels.stage }} filters fail to run on {{ $labels.instance }}',
            '{{ $value | printf "%%.0f" }} {{ $labels.stage }} filter runs on {{ $labels.instance }} could not run in the last 15 minutes (threshold: more than %(filterErrorsPer15m)s, for %(filterErrorsFor)s): a filter program is missing, not executable, crashes or times out. Depending on the filter flags the messages pass unfiltered or are refused.',
            t.filterErrorsFor,
          ),
          alert(
            'XmailFilterRejectSpike', 'warning',
            |||
              sum by (job, instance, stage) (rate(xmail_filter_runs_total{%(selector)s, result="rejected"}[1h])) * 3600 > %(filterRejectMinPerHour)s
              unless on (job, instance, stage)
                sum by (job, instance, stage) (rate(xmail_filter_runs_total{%(selector)s, result="rejected"}[1h]))
              <= %(filterRejectFactor)s * sum by (job, instance, stage) (rate(xmail_filter_runs_total{%(selector)s, result="rejected"}[1h] offset 1w))
            |||,
            'XMail {{ $labels.stage }} filters rejected {{ $value | printf "%%.0f" }} messages in an hour on {{ $labels.instance }}',
            'The {{ $labels.stage }} filters of XMail on {{ $labels.instance }} rejected {{ $value | printf "%%.0f" }} messages in the last hour (threshold %(filterRejectMinPerHour)s), more than %(filterRejectFactor)s times the same hour one week ago. A spam or virus wave, or a filter (its rules, signatures or the service it asks) that now rejects legitimate mail.',
            t.filterRejectFor,
          ),
          alert(
            'XmailBounceSpike', 'warning',
            |||
              job_instance:xmail_mail_bounced:rate1h * 3600 >= %(bounceMinPerHour)s
              and on (job, instance)
                job_instance:xmail_mail_bounced:rate1h
              / on (job, instance)
                (job_instance:xmail_mail_delivered:rate1h or on (job, instance) 0 * job_instance:xmail_mail_bounced:rate1h)
              >= %(bounceRatio)s
              unless on (job, instance)
                %(bounceFactor)s * (job_instance:xmail_mail_bounced:rate1h offset 1w) >= on (job, instance) job_instance:xmail_mail_bounced:rate1h
            |||,
            'XMail on {{ $labels.instance }} sent {{ $value | printf "%%.0f" }} bounces in an hour',
            'XMail on {{ $labels.instance }} sent {{ $value | printf "%%.0f" }} bounce notifications in the last hour (threshold %(bounceMinPerHour)s), at least %(bounceRatio)s of its deliveries and more than %(bounceFactor)s times the same hour one week ago. A compromised account sending spam, a mailing list with dead addresses, or a remote domain refusing our mail.',
            t.bounceFor,
          ),
          alert(
            'XmailWebmailErrorBurst', 'warning',
            'sum by (job, instance, category) (increase(xmail_webmail_errors_total{%(selector)s}[10m])) > %(webmailErrorsPer10m)s',
            'Webmail {{ $labels.category }} errors on {{ $labels.instance }}',
            'The webmail error log on {{ $labels.instance }} recorded {{ $value | printf "%%.0f" }} errors of category {{ $labels.category }} in the last 10 minutes (threshold %(webmailErrorsPer10m)s).',
            t.webmailFor,
          ),
        ],
      },
      {
        // The spool gauges come from a count of MailRoot/spool every 30 s and are absent
        // until the first count after a start: every rule needs the series to be there.
        name: 'xmail-queue-and-delivery',
        rules: [
          alert(
            'XmailSpoolQueuedStuck', 'critical',
            'max by (job, instance) (xmail_spool_oldest_message_age_seconds{%(selector)s, queue="queued"}) > %(queuedAgeSeconds)s',
            'Queued mail on {{ $labels.instance }} has waited {{ $value | humanizeDuration }} without a delivery attempt',
            'The oldest message of the XMail queue on {{ $labels.instance }} (spool/*/*/mess: never attempted yet) is {{ $value | humanizeDuration }} old (threshold %(queuedAgeSeconds)ss). XMail normally takes new messages within seconds: the SMAIL threads are stuck or overloaded, or a filter hangs.',
            t.queuedAgeFor,
          ),
          // Growth, not size: XMail keeps every frozen message until someone removes it.
          alert(
            'XmailSpoolFrozenGrowing', 'warning',
            |||
              (
                  max by (job, instance) (xmail_spool_messages{%(selector)s, queue="frozen"})
                - max by (job, instance) (min_over_time(xmail_spool_messages{%(selector)s, queue="frozen"}[1h]))
              ) >= %(frozenGrowthPerHour)s
            |||,
            '{{ $value | printf "%%.0f" }} messages frozen within an hour on {{ $labels.instance }}',
            'The frozen queue of the XMail spool on {{ $labels.instance }} (spool/*/*/froz) grew by {{ $value | printf "%%.0f" }} messages within the last hour (threshold %(frozenGrowthPerHour)s): deliveries or filters that failed for good. spool/*/*/slog says why for each.',
            t.frozenFor,
          ),
          // Retry age alone is background (one message to a dead domain stays ~13h): the
          // number of retry messages older than 4h against a floor and last week's count.
          alert(
            'XmailSpoolRetryBacklog', 'warning',
            |||
              max by (job, instance) (xmail_spool_messages_older_than{%(selector)s, queue="retry", age="4h"}) > %(retryOld4hFloor)s
              unless on (job, instance)
                %(retryOld4hFactor)s * max by (job, instance) (xmail_spool_messages_older_than{%(selector)s, queue="retry", age="4h"} offset 1w)
              >= on (job, instance) max by (job, instance) (xmail_spool_messages_older_than{%(selector)s, queue="retry", age="4h"})
            |||,
            '{{ $value | printf "%%.0f" }} messages have waited over 4h for a retry on {{ $labels.instance }}',
            '{{ $value | printf "%%.0f" }} messages in the retry queue of XMail on {{ $labels.instance }} (spool/*/*/rsnd) are older than 4 hours (floor %(retryOld4hFloor)s), more than %(retryOld4hFactor)s times as many as one week ago. Remote servers keep refusing or cannot be reached: our IP on a blocklist, DNS, outbound port 25 blocked, or backscatter.',
            t.retryOldFor,
          ),
          alert(
            'XmailDeliveryDelayHigh', 'warning',
            |||
              histogram_quantile(0.9,
                sum by (job, instance, le) (rate(xmail_delivery_delay_seconds_bucket{%(selector)s, type=~"SMTP|RLYS|FWD"}[30m]))
              ) > %(deliveryDelayP90Seconds)s
              and on (job, instance)
                sum by (job, instance) (increase(xmail_delivery_delay_seconds_count{%(selector)s, type=~"SMTP|RLYS|FWD"}[30m])) >= %(deliveryDelayMinDeliveries)s
            |||,
            'Remote deliveries from {{ $labels.instance }} are slow: p90 {{ $value | humanizeDuration }}',
            '90%% of the remote deliveries (SMTP, RLYS, FWD) of XMail on {{ $labels.instance }} in the last 30 minutes took up to {{ $value | humanizeDuration }} from receipt (threshold %(deliveryDelayP90Seconds)ss, at least %(deliveryDelayMinDeliveries)s deliveries): many first attempts fail and wait in the retry queue.',
            t.deliveryDelayFor,
          ),
        ],
      },
      {
        name: 'xmail-exporter-health',
        rules: [
          alert(
            'XmailExporterMalformedLines', 'warning',
            |||
              (
                  sum by (job, instance, log) (rate(xmail_exporter_log_lines_total{%(selector)s, result="malformed"}[15m]))
                /
                  sum by (job, instance, log) (rate(xmail_exporter_log_lines_total{%(selector)s}[15m]))
              ) > %(malformedRatio)s
              and on (job, instance, log)
                sum by (job, instance, log) (increase(xmail_exporter_log_lines_total{%(selector)s, result="malformed"}[15m])) >= %(malformedMinLines)s
            |||,
            '{{ $value | humanizePercentage }} of {{ $labels.log }} log lines are malformed on {{ $labels.instance }}',
            'xmail_exporter on {{ $labels.instance }} could not parse {{ $value | humanizePercentage }} of the {{ $labels.log }} log lines of the last 15 minutes (threshold %(malformedRatio)s): the log format drifted (XMail upgrade, webmail update, encoding) and those events are not counted.',
            '15m',
          ),
          alert(
            'XmailExporterLagGrowing', 'warning',
            |||
              xmail_exporter_log_lag_bytes{%(selector)s} > %(lagBytes)s
              and
              deriv(xmail_exporter_log_lag_bytes{%(selector)s}[10m]) >= 0
            |||,
            'xmail_exporter is {{ $value | humanize1024 }}B behind the {{ $labels.log }} log on {{ $labels.instance }}',
            'xmail_exporter on {{ $labels.instance }} has {{ $value | humanize1024 }}B of the {{ $labels.log }} log left to read (threshold %(lagBytes)s bytes), for 15 minutes and not shrinking: metrics lag behind, the exporter is stuck or CPU-starved.',
            '15m',
          ),
          alert(
            'XmailExporterReadErrors', 'warning',
            'sum by (job, instance, log) (increase(xmail_exporter_log_read_errors_total{%(selector)s}[10m])) > 0',
            'xmail_exporter cannot read the {{ $labels.log }} log on {{ $labels.instance }}',
            'xmail_exporter on {{ $labels.instance }} failed {{ $value | printf "%%.0f" }} time(s) in the last 10 minutes to read {{ $labels.log }} log files that exist: lines may be missing. Usually permissions; the exporter\'s own log names the file.',
            '5m',
          ),
          // The XMail log directory (smtp, smail and pop3 share it) is gone. The webmail
          // directory is optional (no Nmail on the host) and not watched.
          alert(
            'XmailExporterLogDirectoryMissing', 'warning',
            'max by (job, instance, log) (xmail_exporter_log_directory_exists{%(selector)s, log=~"smtp|smail|pop3"}) == 0',
            'xmail_exporter on {{ $labels.instance }} finds no {{ $labels.log }} log directory',
            'The directory xmail_exporter reads the {{ $labels.log }} log from on {{ $labels.instance }} does not exist or cannot be listed: nothing of that log is counted. A wrong --xmail.log-dir, an unmounted volume, or lost permissions.',
            '10m',
          ),
          alert(
            'XmailExporterSpoolScanErrors', 'warning',
            'sum by (job, instance) (increase(xmail_exporter_spool_scan_errors_total{%(selector)s}[15m])) >= %(spoolScanErrorsPer15m)s',
            'xmail_exporter cannot count the XMail spool on {{ $labels.instance }}',
            '{{ $value | printf "%%.0f" }} spool counts of xmail_exporter on {{ $labels.instance }} failed or timed out in the last 15 minutes (threshold %(spoolScanErrorsPer15m)s): the spool gauges keep old values and the spool alerts are blind.',
            '5m',
          ),
          alert(
            'XmailExporterLogTruncated', 'info',
            'sum by (job, instance, log) (increase(xmail_exporter_log_truncations_total{%(selector)s}[1h])) > 0',
            'A {{ $labels.log }} log file was truncated on {{ $labels.instance }}',
            'xmail_exporter on {{ $labels.instance }} saw {{ $labels.log }} log files shrink in the last hour: XMail never truncates its logs, some rotation job does, and lines written between the last read and the truncation are lost.',
          ),
        ],
      },
    ],
  },
}
