// XMail overview: is mail flowing now, the fleet, then the detail by subject.
local g = import 'lib.libsonnet';

{
  new(config)::
    local c = (import 'common.libsonnet').new(config);
    local sel = c.sel;
    local t = g.target;
    local ti(expr, legend='') = g.target(expr, legend, instant=true);
    local inc(metric, extra='') = 'sum(increase(%s%s[$__range]))' % [metric, sel(extra)];
    // Counts per hour, grouped: rate over Grafana's interval, times 3600.
    local perHour(metric, by, extra='') =
      'sum by (%s) (rate(%s%s[$__rate_interval])) * 3600' % [by, metric, sel(extra)];
    local hourly = g.perHour;
    local remote = 'type=~"SMTP|RLYS|FWD"';

    local statusTitles = {
      'RCPT=EAVAIL': 'unknown user (RCPT=EAVAIL)',
      'RCPT=ERELAY': 'relay denied (RCPT=ERELAY)',
      'RCPT=ESYNTAX': 'bad recipient address (RCPT=ESYNTAX)',
      'RCPT=ENBR': 'too many recipients (RCPT=ENBR)',
      'RCPT=EDSBL': 'account disabled (RCPT=EDSBL)',
      'RCPT=EFULL': 'mailbox full (RCPT=EFULL)',
      'RCPT=EACCESS': 'mailing list access denied (RCPT=EACCESS)',
      'RCPT=EFILTER': 'recipient filter (RCPT=EFILTER)',
      'PREDATA=EFILTER': 'pre-data filter (PREDATA=EFILTER)',
      'POSTDATA=EFILTER': 'content filter / antivirus (POSTDATA=EFILTER)',
      'DATA=EFILTER': 'content filter (legacy) (DATA=EFILTER)',
      'SNDRIP=EIPBAN': 'IP banned (SNDRIP=EIPBAN)',
      'SNDRIP=EIPSPAM': 'spammer IP (SNDRIP=EIPSPAM)',
      'SNDRIP=EIPMAP': 'DNSBL (SNDRIP=EIPMAP)',
      'SNDRIP=ERDNS': 'no reverse DNS (SNDRIP=ERDNS)',
      'SNDR=EEMPTY': 'null sender refused (SNDR=EEMPTY)',
      'SNDR=ESYNTAX': 'bad sender address (SNDR=ESYNTAX)',
      'SNDR=ENODNS': 'sender domain unresolvable (SNDR=ENODNS)',
      'SNDR=ESPAM': 'sender blacklisted (SNDR=ESPAM)',
      'SIZE=EBIG': 'message too big (SIZE=EBIG)',
      'SMTP=EERRS': 'too many errors (SMTP=EERRS)',
      'SMTP=ESSL': 'TLS failure (SMTP=ESSL)',
      'AUTH=EFAIL': 'SMTP AUTH failure (AUTH=EFAIL)',
      'VRFY=EACCESS': 'VRFY refused (VRFY=EACCESS)',
      'ETRN=EACCESS': 'ETRN refused (ETRN=EACCESS)',
      'CONN=EFILTER': 'connection filter (CONN=EFILTER)',
      other: 'other (unrecognised status)',
    };

    local upMappings = [{
      type: 'value',
      options: {
        '0': { text: 'DOWN', color: 'red', index: 0 },
        '1': { text: 'up', color: 'green', index: 1 },
      },
    }];

    local ageSteps = g.steps('green', [[900, 'yellow'], [3600, 'red']]);

    // The mail panels link to the desk of the exporter's console of `$instance` for the
    // dashboard's time range (a panel link: the stats and graphs add the hosts up, so no
    // value names one). Meant for one selected instance; the fleet table links every host.
    local withDesk(p) = p { links: [c.deskLink('Open the mail desk of ${instance:text}', '${instance}')] };

    // --- Is mail flowing now -------------------------------------------------------------------
    local headline = [
      withDesk(g.stat('Received',
                      'Messages accepted by the SMTP server (RECV=OK, legacy RCV=OK) in the selected time range, every source. The same count as `report --format json` over the same lines.',
                      [ti(inc('xmail_mail_received_total'))])),
      withDesk(g.stat('Delivered',
                      'Copies that reached a local mailbox or another server (SMAIL lines of type LOCAL, SMTP, FWD and RLYS) in the selected time range. The same count as `report --format json`.',
                      [ti(inc('xmail_mail_delivered_total'))], color='green')),
      withDesk(g.stat('Bounced',
                      "XMail's notification messages (X IDs) sent to someone else than the postmaster, each once, in the selected time range; includes delay warnings when XMail sends them. The same count as `report --format json`.",
                      [ti(inc('xmail_mail_bounced_total'))], color='orange')),
      withDesk(g.stat('Refused',
                      'SMTP lines that refused something (every status but RECV=OK and RCPT=OK: connection, sender, recipient, data, auth and other stages) in the selected time range. The same count as `report --format json`.',
                      [ti(inc('xmail_mail_refused_total'))], color='purple')),
      g.stat('Exporter',
             'up of the selected exporters as Prometheus scrapes them: DOWN when any of them is down (the fleet table shows which).',
             [ti('min(up%s)' % sel())], unit='none', mappings=upMappings,
             thresholds=g.steps('red', [[1, 'green']])),
      g.stat('Firing alerts',
             'XMail alerts (Xmail*) firing now, every host: the ALERTS series of the Prometheus that evaluates the mixin alerts. 0 when none fires.',
             [ti('count(ALERTS{alertname=~"Xmail.*", alertstate="firing"}) or vector(0)')],
             thresholds=g.steps('green', [[1, 'red']])),
      g.stat('Queued messages',
             'Messages waiting for delivery in the spool (spool/*/*/mess) as of the last count, selected hosts together.',
             [ti('sum(xmail_spool_messages%s)' % sel('queue="queued"'))],
             thresholds=g.steps('green', [[100, 'yellow'], [1000, 'red']])),
      g.stat('Retry queue',
             'Messages waiting for another delivery attempt after a temporary failure (spool/*/*/rsnd) as of the last count. The XmailSpoolRetryBacklog alert looks at the retry messages older than 4 hours against last week.',
             [ti('sum(xmail_spool_messages%s)' % sel('queue="retry"'))],
             thresholds=g.steps('green', [[10, 'yellow'], [100, 'red']])),
      g.stat('Frozen messages',
             'Frozen messages (spool/*/*/froz) as of the last count: deliveries or filters that failed for good. XMail never removes them; the reason of each is in spool/*/*/slog.',
             [ti('sum(xmail_spool_messages%s)' % sel('queue="frozen"'))],
             thresholds=g.steps('green', [[1, 'yellow'], [50, 'red']])),
      g.stat('Last SMTP line',
             'Time since the last line of the SMTP log, for the host where it is longest. Restored from the state file at start-up, so it survives exporter restarts.',
             [ti('max(time() - (xmail_exporter_log_last_event_timestamp_seconds%s > 0))' % sel('log="smtp"'))],
             unit='s', thresholds=ageSteps),
      g.stat('Last SMAIL line',
             'Time since the last line of the SMAIL (delivery) log, for the host where it is longest.',
             [ti('max(time() - (xmail_exporter_log_last_event_timestamp_seconds%s > 0))' % sel('log="smail"'))],
             unit='s', thresholds=ageSteps),
      g.stat('Recipient acceptance',
             'Recipients accepted (RCPT=OK) divided by every recipient decision (RCPT=OK and RCPT=E…) in the selected time range. Empty without recipient traffic.',
             [ti('sum(increase(xmail_smtp_recipients_total%s[$__range]))\n/\nsum(increase(xmail_smtp_recipients_total%s[$__range]))'
                 % [sel('result="accepted"'), sel()])],
             unit='percentunit', decimals=1, thresholds=g.steps('red', [[0.05, 'yellow'], [0.2, 'green']])),
    ];

    // --- Fleet ---------------------------------------------------------------------------------
    local rec(name) = 'sum by (job, instance) (%s%s)' % [name, sel()];
    local fleet = g.table(
      'Fleet',
      "One row per host of the selection, from the mixin recording rules (hourly rates over the last hour) and the spool counts. A host whose exporter is down keeps its row with up = DOWN. Click an instance to show only that host, or to open the mail desk of its exporter's console for the selected time range (in a new tab).",
      [
        ti('max by (job, instance) (up%s)' % sel()),
        ti(rec('job_instance:xmail_mail_received:rate1h') + ' * 3600'),
        ti('%s\n/\n(%s + %s)' % [rec('job_instance:xmail_mail_refused:rate1h'), rec('job_instance:xmail_mail_refused:rate1h'), rec('job_instance:xmail_mail_received:rate1h')]),
        ti(rec('job_instance:xmail_mail_delivered:rate1h') + ' * 3600'),
        ti('sum by (job, instance) (xmail_spool_messages%s)' % sel('queue="retry"')),
        ti('sum by (job, instance) (xmail_spool_messages%s)' % sel('queue="frozen"')),
        ti('max by (job, instance) (job_instance:xmail_log_last_event_age:seconds%s)' % sel('log=~"smtp|smail"')),
      ],
      'short',
      overrides=[
        g.override('instance', {
          links: [{
            title: 'Show ${__value.text} only',
            url: '/d/xmail-overview/xmail-overview?${__url_time_range}&${datasource:queryparam}&${job:queryparam}&${console_scheme:queryparam}&var-instance=${__value.raw}',
          }, c.deskLink('Open the mail desk', '${__data.fields["instance"]}')],
        }),
        g.override('Up', { mappings: upMappings, 'custom.cellOptions': { type: 'color-background' }, 'custom.width': 80 }),
        g.override('Received/h', { unit: hourly, decimals: 1 }),
        g.override('Refused', {
          unit: 'percentunit',
          decimals: 1,
          thresholds: g.steps('green', [[0.8, 'yellow'], [0.95, 'red']]),
          'custom.cellOptions': { type: 'color-text' },
        }),
        g.override('Delivered/h', { unit: hourly, decimals: 1 }),
        g.override('Retry', {
          decimals: 0,
          thresholds: g.steps('green', [[10, 'yellow'], [100, 'red']]),
          'custom.cellOptions': { type: 'color-background' },
        }),
        g.override('Frozen', {
          decimals: 0,
          thresholds: g.steps('green', [[1, 'yellow'], [50, 'red']]),
          'custom.cellOptions': { type: 'color-background' },
        }),
        g.override('Last SMTP/SMAIL line', {
          unit: 's',
          thresholds: ageSteps,
          'custom.cellOptions': { type: 'color-background' },
        }),
      ],
      organize={
        excludeByName: { Time: true, job: true },
        indexByName: { instance: 0, 'Value #A': 1, 'Value #B': 2, 'Value #C': 3, 'Value #D': 4, 'Value #E': 5, 'Value #F': 6, 'Value #G': 7 },
        renameByName: {
          'Value #A': 'Up',
          'Value #B': 'Received/h',
          'Value #C': 'Refused',
          'Value #D': 'Delivered/h',
          'Value #E': 'Retry',
          'Value #F': 'Frozen',
          'Value #G': 'Last SMTP/SMAIL line',
        },
      },
    );

    // --- Detail --------------------------------------------------------------------------------
    local flow = [
      withDesk(g.timeseries('Received per hour by source',
                            'Messages accepted (RECV=OK) per hour, by client source: external (from the internet), authenticated (SMTP AUTH) or webmail. Minimum interval 5 minutes, so a small server reads as a rate, not as spikes.',
                            [t(perHour('xmail_mail_received_total', 'source'), '{{source}}')], hourly, stack=true, interval='5m')),
      withDesk(g.timeseries('Delivered per hour by type',
                            'Copies delivered per hour: LOCAL mailbox, SMTP to another server, FWD gateway, RLYS smart host.',
                            [t(perHour('xmail_mail_delivered_total', 'type'), '{{type}}')], hourly, stack=true, interval='5m')),
      withDesk(g.timeseries('Delivered per hour by origin',
                            'Copies delivered per hour by where the message came from: smtp (S IDs), local spool drop (L), pop3sync (P), bounce (X, notifications XMail generated) or other.',
                            [t(perHour('xmail_mail_delivered_total', 'origin'), '{{origin}}')], hourly, stack=true, interval='5m')),
      withDesk(g.timeseries('Bounced per hour',
                            'Notification messages per hour: bounces (and delay warnings) sent to someone else than the postmaster, and notices XMail sent to its own postmaster (e.g. a failure that could not be bounced). The XmailBounceSpike alert watches the bounces.',
                            [
                              t('sum(rate(xmail_mail_bounced_total%s[$__rate_interval])) * 3600' % sel(), 'bounced'),
                              t('sum(rate(xmail_mail_postmaster_notices_total%s[$__rate_interval])) * 3600' % sel(), 'postmaster notices'),
                            ], hourly, interval='5m')),
      g.timeseries('Inbound volume by source',
                   'Bytes of accepted messages per second, by client source (sum of the SMTP message size histogram).',
                   [t('sum by (source) (rate(xmail_smtp_message_size_bytes_sum%s[$__rate_interval]))' % sel(), '{{source}}')], 'Bps', stack=true, interval='5m'),
      g.timeseries('SMAIL records per hour by type',
                   'Every SMAIL log record per hour by type: what XMail did, deliveries (LOCAL, SMTP, FWD, RLYS) and the rest (EXTRN program, FILTER run, REDIR/LREDIR copies, other). Deliveries alone are the Delivered panels.',
                   [t(perHour('xmail_smail_records_total', 'type'), '{{type}}')], hourly, stack=true, interval='5m'),
    ];

    local refusals = [
      withDesk(g.timeseries('Refused per hour by stage',
                            'Refused SMTP lines per hour, by the stage of the transaction: connection (IP bans, DNSBL, reverse DNS, too many errors, TLS), sender (MAIL FROM checks, size), recipient (RCPT=E…), data (content filters), auth (AUTH=EFAIL), other.',
                            [t(perHour('xmail_mail_refused_total', 'stage'), '{{stage}}')], hourly, stack=true, interval='5m')),
      g.timeseries('Recipient acceptance',
                   'Recipients accepted (RCPT=OK) divided by every recipient decision (accepted + refused). A sudden drop is what the refusal alerts look for. Gaps mean no recipient traffic.',
                   [t('sum(rate(xmail_smtp_recipients_total%s[$__rate_interval]))\n/\nsum(rate(xmail_smtp_recipients_total%s[$__rate_interval]))'
                      % [sel('result="accepted"'), sel()], 'accepted')],
                   'percentunit', interval='5m', calcs=['mean', 'min', 'max'], decimals=1) {
        fieldConfig+: { defaults+: { max: 1 } },
      },
      withDesk(g.bargauge('Top refusal reasons',
                          'Refused SMTP lines in the selected time range, by XMail status, largest first; the status code follows the human title in brackets. Reasons that did not occur are left out; empty when nothing was refused.',
                          [ti('sort_desc(sum by (status) (increase(xmail_smtp_events_total%s[$__range])) > 0)' % sel('status!~"RECV=OK|RCV=OK|RCPT=OK"'), '{{status}}')],
                          w=8, h=10, overrides=g.displayNames(statusTitles))),
      g.timeseries('DNSBL refusals per hour by list',
                   "SMTP clients refused by each DNS blocklist (SNDRIP=EIPMAP), named as configured in XMail's CustMapsList. A single list jumping alone may be a dead list answering 'listed' for everyone.",
                   [t(perHour('xmail_smtp_dnsbl_refusals_total', 'list'), '{{list}}')], hourly, w=8, h=10, stack=true, interval='5m'),
      g.timeseries('SMTP AUTH failures per hour by mechanism',
                   'Failed SMTP AUTH attempts (AUTH=EFAIL) per hour, by mechanism. Bursts are usually password guessing.',
                   [t(perHour('xmail_smtp_auth_failures_total', 'mechanism'), '{{mechanism}}')], hourly, w=8, h=10, stack=true, interval='5m'),
    ];

    local sizes = [
      g.heatmap('Message size distribution',
                'Distribution of accepted message sizes (SMTP message size histogram, all sources): messages per hour in each size bucket.',
                t('sum by (le) (rate(xmail_smtp_message_size_bytes_bucket%s[$__rate_interval])) * 3600' % sel(), '{{le}}'),
                hourly, 'bytes', interval='5m'),
      g.timeseries('Message size quantiles',
                   'Median, 90th and 99th percentile and mean size of accepted messages, estimated from the histogram (buckets 1 KiB to 64 MiB, powers of 4): a quantile is only as precise as its bucket. Gaps mean no message in the window.',
                   [
                     t('histogram_quantile(%s, sum by (le) (rate(xmail_smtp_message_size_bytes_bucket%s[$__rate_interval])))' % [q[0], sel()], q[1])
                     for q in [['0.5', 'p50'], ['0.9', 'p90'], ['0.99', 'p99']]
                   ] + [
                     t('sum(rate(xmail_smtp_message_size_bytes_sum%s[$__rate_interval]))\n/\nsum(rate(xmail_smtp_message_size_bytes_count%s[$__rate_interval]))' % [sel(), sel()], 'mean'),
                   ], 'bytes', h=9, interval='5m'),
    ];

    local delay = [
      g.heatmap('Remote delivery delay distribution',
                'Time from a message’s RECV=OK to each of its remote deliveries (SMAIL types SMTP, RLYS, FWD; joined by message ID): deliveries per hour in each delay bucket (1 s to 1 day). Only messages whose RECV=OK the exporter read are measured (the rest: xmail_exporter_delivery_delay_unmatched_total on the health dashboard).',
                t('sum by (le) (rate(xmail_delivery_delay_seconds_bucket%s[$__rate_interval])) * 3600' % sel(remote), '{{le}}'),
                hourly, 's', interval='5m'),
      g.timeseries('Remote delivery delay quantiles by type',
                   'Median and 90th percentile of the time from RECV=OK to the remote delivery (SMTP, RLYS, FWD), per type, estimated from the histogram: a quantile is only as precise as its bucket (1, 2, 5, 10, 30, 60 s, 5, 15 min, 1, 4, 12, 24 h). SMTP above a few seconds means retries; the XmailDeliveryDelayHigh alert watches the p90. Gaps mean no delivery of that type in the window.',
                   [
                     t('histogram_quantile(%s, sum by (type, le) (rate(xmail_delivery_delay_seconds_bucket%s[$__rate_interval])))' % [q[0], sel(remote)], '{{type}} ' + q[1])
                     for q in [['0.5', 'p50'], ['0.9', 'p90']]
                   ], 's', h=9, interval='5m'),
    ];

    local queueColors = [
      g.override('frozen', { color: { fixedColor: 'red', mode: 'fixed' } }),
      g.override('retry', { color: { fixedColor: 'orange', mode: 'fixed' } }),
      g.override('queued', { color: { fixedColor: 'blue', mode: 'fixed' } }),
    ];
    local spool = [
      g.timeseries('Spool queues',
                   "Messages in XMail's spool by queue as of each count (every 30 s by default), on a log axis: queued (spool/*/*/mess), retry (rsnd, after a temporary failure), frozen (froz, failed for good), local (spool/local), temp. They differ by orders of magnitude; an empty queue (0) is not drawn on the log axis. Absent right after an exporter restart, until the first count.",
                   [t('sum by (queue) (xmail_spool_messages%s)' % sel(), '{{queue}}')],
                   'short', w=8, log=true, overrides=queueColors, calcs=['lastNotNull', 'max'], decimals=0),
      g.timeseries('Oldest message in the queue',
                   'Age of the oldest message of the incoming (queued) and retry queues, from the time in the spool file name; 0 when the queue is empty. A queued message older than a few minutes means delivery is stuck.',
                   [t('max by (queue) (xmail_spool_oldest_message_age_seconds%s)' % sel(), '{{queue}}')],
                   's', w=8, overrides=queueColors, calcs=['lastNotNull', 'max']),
      g.timeseries('Messages waiting longer than',
                   'Messages of the queued and retry queues older than 15 minutes, 1, 4 and 12 hours.',
                   [t('sum by (queue, age) (xmail_spool_messages_older_than%s)' % sel(), '{{queue}} > {{age}}')],
                   'short', w=8, calcs=['lastNotNull', 'max'], decimals=0),
    ];

    local pop3 = [
      g.timeseries('POP3 logins per hour by result',
                   'POP3 logins from the pop3-* logs: ok (LOGIN), failed (ELOGIN), unknown (XMail 1.24 and older log the attempt before checking the password). No user name is exported; the log has it.',
                   [t(perHour('xmail_pop3_logins_total', 'result'), '{{result}}')], hourly, stack=true, interval='5m',
                   overrides=[g.override('ok', { color: { fixedColor: 'green', mode: 'fixed' } }), g.override('failed', { color: { fixedColor: 'red', mode: 'fixed' } })]),
      g.timeseries('Failed POP3 login ratio',
                   'Failed POP3 logins (ELOGIN) divided by logins with a known result (ok + failed). A jump with many failures is password guessing; a steady share is usually one client with an old password. Gaps mean no login.',
                   [t('sum(rate(xmail_pop3_logins_total%s[$__rate_interval]))\n/\nsum(rate(xmail_pop3_logins_total%s[$__rate_interval]))' % [sel('result="failed"'), sel('result=~"ok|failed"')], 'failed')],
                   'percentunit', interval='5m', decimals=1),
      g.timeseries('POP3 mailbox size quantiles',
                   'Size of the mailbox at each successful POP3 login, median, 90th and 99th percentile and mean, estimated from the histogram (buckets 64 KiB to 4 GiB, powers of 4). Growing sizes mean clients leave mail on the server. Gaps mean no successful login in the window.',
                   [
                     t('histogram_quantile(%s, sum by (le) (rate(xmail_pop3_mailbox_size_bytes_bucket%s[$__rate_interval])))' % [q[0], sel()], q[1])
                     for q in [['0.5', 'p50'], ['0.9', 'p90'], ['0.99', 'p99']]
                   ] + [
                     t('sum(rate(xmail_pop3_mailbox_size_bytes_sum%s[$__rate_interval]))\n/\nsum(rate(xmail_pop3_mailbox_size_bytes_count%s[$__rate_interval]))' % [sel(), sel()], 'mean'),
                   ], 'bytes', interval='5m'),
      g.timeseries('POP3 mailbox messages quantiles',
                   'Messages in the mailbox at each successful POP3 login, median, 90th and 99th percentile and mean, estimated from the histogram (buckets 0, 10, 100, ... 1 000 000). Gaps mean no successful login in the window.',
                   [
                     t('histogram_quantile(%s, sum by (le) (rate(xmail_pop3_mailbox_messages_bucket%s[$__rate_interval])))' % [q[0], sel()], q[1])
                     for q in [['0.5', 'p50'], ['0.9', 'p90'], ['0.99', 'p99']]
                   ] + [
                     t('sum(rate(xmail_pop3_mailbox_messages_sum%s[$__rate_interval]))\n/\nsum(rate(xmail_pop3_mailbox_messages_count%s[$__rate_interval]))' % [sel(), sel()], 'mean'),
                   ], 'short', interval='5m'),
    ];

    local webmail = [
      g.timeseries('Webmail errors per hour by category',
                   'Errors of the Nmail webmail error log (error-YYYYMMDD.txt) per hour, by the category the exporter’s rules assign. A PHP stack trace counts once, with the error before it.',
                   [t(perHour('xmail_webmail_errors_total', 'category'), '{{category}}')], hourly, w=24, stack=true, interval='5m'),
    ];

    // --- Security and the optional logs ------------------------------------------------------
    // The ctrl, psync, filters, lmail and finger logs exist only when XMail runs with their
    // switch: a stat per log says "not enabled" (xmail_exporter_log_files == 0) instead of
    // leaving a flat graph to guess about. min over the selected hosts: one host without
    // the log is enough to say so.
    local w_status(log) = if log == 'ctrl' || log == 'finger' then 12 else 8;
    local logStatus(title, log, switch, what) =
      g.stat(title,
             'Whether XMail writes the %s log (%s-* files in the log directory, xmail_exporter_log_files{log="%s"}): "not enabled (%s)" when a selected host has none of its files, so the panels of this row stay empty there; XMail writes it only when started with %s (off by default). %s' % [log, log, log, switch, switch, what],
             [ti('min(xmail_exporter_log_files%s)' % sel('log="%s"' % log))],
             w=w_status(log), h=3,
             mappings=[
               { type: 'value', options: { '0': { text: 'not enabled (%s)' % switch, color: 'orange', index: 0 } } },
               { type: 'range', options: { from: 1, to: null, result: { text: 'enabled', color: 'green', index: 1 } } },
             ],
             thresholds=g.steps('green'));
    local fixed(name, color) = g.override(name, { color: { fixedColor: color, mode: 'fixed' } });
    local byRegexp(re, props) = g.override('', props) { matcher: { id: 'byRegexp', options: re } };
    local security = [
      logStatus('CTRL log', 'ctrl', '-Cl', 'Logins on the CTRL (admin) port.'),
      logStatus('FINGER log', 'finger', '-Fl', 'FINGER queries answered.'),
      g.timeseries('CTRL logins failed per hour',
                   'Failed logins on the CTRL (administration) port per hour (FAIL lines of the ctrl log), with the successful ones (AUTH) for comparison. Only administrators and their tools log in there: more than a few failures is someone guessing the admin password (the XmailCtrlLoginFailures alert). Empty when the ctrl log is not enabled (-Cl, see the CTRL log stat).',
                   [t(perHour('xmail_ctrl_logins_total', 'result'), '{{result}}')], hourly, w=6, interval='5m',
                   overrides=[fixed('failed', 'red'), fixed('ok', 'green')]),
      g.timeseries('SMTP AUTH failures per hour',
                   'Failed SMTP AUTH attempts (AUTH=EFAIL) per hour, every mechanism (by mechanism: the Refusals row). Bursts are password guessing (the XmailSmtpAuthFailureBurst alert).',
                   [t('sum(rate(xmail_smtp_auth_failures_total%s[$__rate_interval])) * 3600' % sel(), 'failed')], hourly, w=6, interval='5m',
                   overrides=[fixed('failed', 'red')]),
      g.timeseries('POP3 login failures per hour',
                   'Failed POP3 logins (ELOGIN) per hour (every result: the POP3 row). Bursts are password guessing (the XmailPop3LoginFailureBurst alert).',
                   [t('sum(rate(xmail_pop3_logins_total%s[$__rate_interval])) * 3600' % sel('result="failed"'), 'failed')], hourly, w=6, interval='5m',
                   overrides=[fixed('failed', 'red')]),
      g.timeseries('FINGER queries per hour',
                   'FINGER queries XMail answered per hour (lines of the finger log). FINGER tells who has an account: on a mail server it is mostly probing, and best switched off. Empty when the finger log is not enabled (-Fl, see the FINGER log stat).',
                   [t('sum(rate(xmail_finger_queries_total%s[$__rate_interval])) * 3600' % sel(), 'queries')], hourly, w=6, interval='5m'),
    ];

    local psyncColors = [fixed('ok', 'green'), fixed('synced', 'green'), fixed('failed', 'red'), fixed('error', 'red'), fixed('no_user', 'orange')];
    local psyncFilters = [
      logStatus('PSYNC log', 'psync', '-Yl', 'Syncs of the external POP3 accounts XMail fetches for its users.'),
      logStatus('Filters log', 'filters', '-Qg', 'Runs of the SMAIL (in, out) and SMTP (post-rcpt, pre-data, post-data) filters.'),
      logStatus('LMAIL log', 'lmail', '-Ll', 'Files XMail took in from spool/local.'),
      g.timeseries('POP3 syncs per hour by result',
                   'Syncs of external POP3 accounts (POP3 links) per hour: ok (SYNC=OK), failed (SYNC=EFAIL: remote server unreachable, wrong password) and no_user (SYNC=ENOUSER: the local user is gone). A steady failed line is one dead account; failed with no ok at all is the XmailPsyncFailing alert. Empty when the psync log is not enabled (-Yl, see the PSYNC log stat).',
                   [t(perHour('xmail_psync_syncs_total', 'result'), '{{result}}')], hourly, w=8, stack=true, interval='5m', overrides=psyncColors),
      g.timeseries('POP3 sync messages per hour',
                   'Messages fetched from external POP3 accounts per hour: synced (MsgsSynced) and error (MsgsErr, fetched but not stored). Empty when the psync log is not enabled (-Yl).',
                   [t(perHour('xmail_psync_messages_total', 'result'), '{{result}}')], hourly, w=8, stack=true, interval='5m', overrides=psyncColors),
      g.timeseries('POP3 sync volume',
                   'Bytes fetched from external POP3 accounts per second: synced (BytesSynced) and error (BytesErr). Empty when the psync log is not enabled (-Yl).',
                   [t('sum by (result) (rate(xmail_psync_bytes_total%s[$__rate_interval]))' % sel(), '{{result}}')], 'Bps', w=8, stack=true, interval='5m', overrides=psyncColors),
      g.timeseries('Filter runs per hour by stage and result',
                   'Filter runs per hour, by stage (in, out: SMAIL filters; post-rcpt, pre-data, post-data: SMTP filters) and result: passed, modified (exit code 7 of an SMAIL filter), rejected (SMAIL 4, 5, 6; SMTP 3; orange), error (could not run; red, the XmailFilterErrors alert), skipped (excluded or whitelisted). Rejections far above last week are the XmailFilterRejectSpike alert. Empty when the filters log is not enabled (-Qg, see the Filters log stat).',
                   [t(perHour('xmail_filter_runs_total', 'stage, result'), '{{stage}} {{result}}')], hourly, w=16, interval='5m',
                   overrides=[
                     byRegexp('.* rejected', { color: { fixedColor: 'orange', mode: 'fixed' }, 'custom.lineWidth': 2 }),
                     byRegexp('.* error', { color: { fixedColor: 'red', mode: 'fixed' }, 'custom.lineWidth': 3 }),
                   ]),
      g.timeseries('Local spool messages (LMAIL) per hour',
                   'Messages XMail took in from spool/local per hour (lines of the lmail log): mail dropped there by local programs (sendmail replacements, scripts). Empty when the lmail log is not enabled (-Ll, see the LMAIL log stat).',
                   [t('sum(rate(xmail_lmail_messages_total%s[$__rate_interval])) * 3600' % sel(), 'messages')], hourly, w=8, interval='5m'),
    ];

    local dsel(extra='') = sel('domain=~"$domain"' + (if extra == '' then '' else ', ' + extra));
    local domainPerHour(metric, by) =
      'sum by (%s) (rate(%s%s[$__rate_interval])) * 3600' % [by, metric, dsel()];
    local domains = [
      g.timeseries('Deliveries per hour by domain',
                   'Copies delivered per hour to each configured local domain, by delivery type (LOCAL, SMTP, FWD, RLYS). The per-domain metrics are opt-in: list the domains in the exporter config (domains:); without them this row is empty.',
                   [t(domainPerHour('xmail_domain_deliveries_total', 'domain, type'), '{{domain}} {{type}}')], hourly, stack=true, interval='5m'),
      g.timeseries('Messages sent per hour by domain',
                   'Messages received by the SMTP server from senders of each configured domain, per hour.',
                   [t(domainPerHour('xmail_domain_messages_sent_total', 'domain'), '{{domain}}')], hourly, stack=true, interval='5m'),
      g.timeseries('Recipients accepted per hour by domain',
                   'Recipients of each configured domain accepted (RCPT=OK) per hour.',
                   [t(domainPerHour('xmail_domain_recipients_accepted_total', 'domain'), '{{domain}}')], hourly, stack=true, interval='5m'),
      g.timeseries('Recipients refused per hour by domain',
                   'Recipients of each configured domain refused (RCPT=E…) per hour: unknown users, full mailboxes, filters.',
                   [t(domainPerHour('xmail_domain_recipients_refused_total', 'domain'), '{{domain}}')], hourly, stack=true, interval='5m'),
    ];

    g.dashboard(
      'xmail-overview',
      'XMail overview',
      'Mail flow of XMail servers from their SMTP, SMAIL, POP3 and webmail logs and their spool, as exported by xmail_exporter: received, delivered, bounced and refused mail, the queues and the freshness of the logs now; one row per host; then traffic per hour, refusals by stage and reason, DNSBL and AUTH failures, message sizes, SMAIL records, delivery delay, spool queues and their age, POP3, security (CTRL, AUTH and POP3 login failures, FINGER), POP3 sync and filters (where XMail writes those logs), webmail errors and (opt-in) per-domain counts.',
      headline
      + [g.row('Hosts'), fleet]
      + [g.row('Mail flow')] + flow
      + [g.row('Refusals')] + refusals
      + [g.row('Message size')] + sizes
      + [g.row('Delivery delay')] + delay
      + [g.row('Spool queue')] + spool
      + [g.row('POP3')] + pop3
      + [g.row('Security')] + security
      + [g.row('POP3 sync and filters')] + psyncFilters
      + [g.row('Webmail')] + webmail
      + [g.row('Per domain', collapsed=true, panels=domains)],
      [
        c.jobVariable,
        c.instanceVariable,
        g.labelValuesVariable(
          'domain', 'domain', 'xmail_domain_deliveries_total', '%s=~"$job", %s=~"$instance"' % [config.jobLabel, config.instanceLabel],
          'Local domains with per-domain counters (opt-in: `domains:` in the exporter config). Empty when none is configured.',
          multi=true,
        ),
        c.consoleSchemeVariable,
      ],
      [c.restartAnnotation, c.alertAnnotation],
    ),
}
