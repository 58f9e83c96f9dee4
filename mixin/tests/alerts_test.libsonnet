// promtool unit tests of the generated rules (deploy/prometheus/alerts_test.yml).
// Scenarios: four in which no alert may fire (a small server's weeks of day/night traffic,
// exporter restarts, a host without Nmail, a large server's background), the two outages
// that must fire within two hours of the stop (all logs silent, deliveries stopped), and
// one firing scenario per alert. Series are built from segments of promtool's expanding
// notation (`a+bxN`): one sample every 5 minutes in the
// week-long scenarios, every minute in the short ones; two weeks long where `offset 1w` needs history.
// Test time starts at the Unix epoch (a Thursday), so hour h of day d is minute 1440d+60h.
local D = 1440;  // minutes a day
local H = 60;
local W = 7 * D;
local s(x) = std.toString(x);

// --- series builder ------------------------------------------------------------------
// ops: ['rate', n, r]  counter, +r per sample for n samples (also a constant gauge: r = 0)
//      ['const', n, v] gauge v for n samples
//      ['clock', n]    gauge = the sample's own time (a "last event" timestamp kept current)
//      ['hold', n]     the previous value for n samples
//      ['gap', n]      n missing samples (scrape failed / series absent)
//      ['reset']       counter back to 0 (exporter restart)
// k: minutes per sample (op lengths stay in minutes, rates per minute).
local build(ops, k=1) =
  local step(st, op) =
    local kind = op[0];
    if kind == 'reset' then st { v: 0 }
    else
      local n = std.ceil(op[1] / k);
      if n <= 0 then st
      else if kind == 'rate' then
        // +1e-6 after a rising segment: the next segment must never start below promtool's own
        // float sum of this one (a decrease would be a counter reset).
        st { v: st.v + op[2] * k * n + (if op[2] > 0 then 1e-6 else 0), m: st.m + n, parts+: [s(st.v + op[2] * k) + '+' + s(op[2] * k) + 'x' + s(n - 1)] }
      else if kind == 'const' then
        st { v: op[2], m: st.m + n, parts+: [s(op[2]) + 'x' + s(n - 1)] }
      else if kind == 'clock' then
        st { v: 60 * k * (st.m + n - 1), m: st.m + n, parts+: [s(60 * k * st.m) + '+' + s(60 * k) + 'x' + s(n - 1)] }
      else if kind == 'hold' then
        st { m: st.m + n, parts+: [s(st.v) + 'x' + s(n - 1)] }
      else if kind == 'gap' then
        st { m: st.m + n, parts+: (if n == 1 then ['_'] else ['_x' + s(n)]) }
      else error 'unknown op ' + kind;
  std.join(' ', std.foldl(step, ops, { v: 0, m: 0, parts: [] }).parts);

local len(op) = if op[0] == 'reset' then 0 else op[1];
local withLen(op, n) = [op[0], n] + op[2:];
// The ops before minute m and from minute m on.
local splitAt(ops, m) =
  std.foldl(
    function(acc, op)
      local l = len(op);
      if acc.pos + l <= m then acc { pos: acc.pos + l, before+: [op] }
      else if acc.pos >= m then acc { pos: acc.pos + l, after+: [op] }
      else acc { pos: acc.pos + l, before+: [withLen(op, m - acc.pos)], after+: [withLen(op, acc.pos + l - m)] },
    ops, { pos: 0, before: [], after: [] }
  );
// Everything after minute m changed by f (a function of one op).
local from(ops, m, f) = local p = splitAt(ops, m); p.before + [f(op) for op in p.after];
// Nothing happens any more from minute m: counters and timestamps stand still.
local stopAt(ops, m) = from(ops, m, function(op) if op[0] == 'reset' then op else if op[0] == 'gap' then op else ['hold', len(op)]);
// An exporter restart at minute m: `gap` missing samples, counters (if counter) from 0.
local restartAt(ops, m, gap, counter) =
  local p = splitAt(ops, m);
  local q = splitAt(p.after, gap);
  p.before + [['gap', gap]] + (if counter then [['reset']] else []) + q.after;

// A day of a counter: night rate until 08:00, day rate until 20:00, night rate again.
local daily(days, night, day) = std.flattenArrays([[['rate', 8 * H, night], ['rate', 12 * H, day], ['rate', 4 * H, night]] for _ in std.range(1, days)]);
// A last-event timestamp that is current by day and stands still at night.
local dailyClock(days) = std.flattenArrays([[['hold', 8 * H], ['clock', 12 * H], ['hold', 4 * H]] for _ in std.range(1, days)]);
local constant(n, v) = [['const', n, v]];

{
  file(mixin)::
    local c = mixin._config;
    local t = c.thresholds;
    local url(a) = c.runbookUrl(a);
    local alertNames = [r.alert for g in mixin.prometheusAlerts.groups for r in g.rules];
    // The job label the selector gives (job="..."), for the series and the expected labels.
    local job = std.split(c.selector, '"')[1];
    local lbl(name, labels, inst) =
      name + '{' + std.join(', ', ['job="' + job + '"', 'instance="' + inst + '"'] + [k + '="' + labels[k] + '"' for k in std.objectFields(labels)]) + '}';
    local series(inst, list, k=1) = [{ series: lbl(x[0], x[1], inst), values: build(x[2], k) } for x in list];
    local dur(m) = if m % D == 0 then s(m / D) + 'd' else if m % H == 0 then s(m / H) + 'h' else s(m) + 'm';
    // No alert at all at each of these minutes.
    local quiet(times) = [{ eval_time: dur(m), alertname: a, exp_alerts: [] } for m in times for a in alertNames];
    // Every 4 hours from 01:00 (01, 05, 09, 13, 17, 21: three of them at night).
    local every4h(fromM, toM) = [H + 4 * H * k for k in std.range(0, std.floor(toM / (4 * H))) if H + 4 * H * k >= fromM && H + 4 * H * k <= toM];
    local fires(m, a, labels, summary, description) = {
      eval_time: dur(m),
      alertname: a,
      exp_alerts: [{
        exp_labels: { severity: [r.labels.severity for g in mixin.prometheusAlerts.groups for r in g.rules if r.alert == a][0], job: job } + labels,
        exp_annotations: { summary: summary, description: description, runbook_url: url(a) },
      }],
    };
    local silent(m, a) = { eval_time: dur(m), alertname: a, exp_alerts: [] };
    {

    // --- the small server: ~150 messages a day between 08:00 and 20:00, botnets all night
    local smallInst = 'small.example.org:10587',
    local small(days, webmail=true) = [
      ['up', {}, constant(days * D + 1, 1)],
      ['xmail_mail_received_total', { source: 'external' }, daily(days, 0, 0.2)],
      ['xmail_mail_received_total', { source: 'authenticated' }, daily(days, 0, 0.02)],
      ['xmail_mail_delivered_total', { type: 'LOCAL', origin: 'smtp' }, daily(days, 0, 0.2)],
      ['xmail_mail_delivered_total', { type: 'SMTP', origin: 'smtp' }, daily(days, 0, 0.02)],
      ['xmail_mail_bounced_total', {}, daily(days, 0, 0.003)],
      ['xmail_mail_refused_total', { stage: 'connection' }, daily(days, 1, 0.5)],
      ['xmail_mail_refused_total', { stage: 'recipient' }, daily(days, 1, 0.3)],
      ['xmail_mail_refused_total', { stage: 'auth' }, daily(days, 0.2, 0.1)],
      ['xmail_smtp_recipients_total', { result: 'accepted' }, daily(days, 0, 0.25)],
      ['xmail_smtp_recipients_total', { result: 'refused' }, daily(days, 1, 0.3)],
      ['xmail_smtp_auth_failures_total', { mechanism: 'LOGIN' }, daily(days, 0.2, 0.1)],
      ['xmail_smtp_dnsbl_refusals_total', { list: 'zen.spamhaus.org' }, daily(days, 0.5, 0.2)],
      ['xmail_pop3_logins_total', { result: 'ok' }, daily(days, 0.3, 0.5)],
      ['xmail_pop3_logins_total', { result: 'failed' }, daily(days, 0.05, 0.05)],
      ['xmail_exporter_log_last_event_timestamp_seconds', { log: 'smtp' }, [['clock', days * D + 1]]],
      ['xmail_exporter_log_last_event_timestamp_seconds', { log: 'pop3' }, [['clock', days * D + 1]]],
      ['xmail_exporter_log_last_event_timestamp_seconds', { log: 'smail' }, dailyClock(days)],
      ['xmail_exporter_log_lines_total', { log: 'smtp', result: 'ok' }, daily(days, 2.5, 1.5)],
      ['xmail_exporter_log_lines_total', { log: 'smtp', result: 'malformed' }, daily(days, 0.01, 0.01)],
      ['xmail_exporter_log_lag_bytes', { log: 'smtp' }, constant(days * D + 1, 0)],
      ['xmail_exporter_log_read_errors_total', { log: 'smtp' }, constant(days * D + 1, 0)],
      ['xmail_exporter_log_truncations_total', { log: 'smtp' }, constant(days * D + 1, 0)],
      ['xmail_exporter_spool_scan_errors_total', {}, constant(days * D + 1, 0)],
      ['xmail_delivery_delay_seconds_bucket', { type: 'SMTP', le: '60' }, daily(days, 0, 0.02)],
      ['xmail_delivery_delay_seconds_bucket', { type: 'SMTP', le: '900' }, daily(days, 0, 0.02)],
      ['xmail_delivery_delay_seconds_bucket', { type: 'SMTP', le: '+Inf' }, daily(days, 0, 0.02)],
      ['xmail_delivery_delay_seconds_count', { type: 'SMTP' }, daily(days, 0, 0.02)],
      // The admin logs in a few times a day and mistypes once in a while; one external
      // POP3 account synced every 10 minutes day and night, failing now and then; the
      // filters pass nearly everything and reject a few messages an hour by day.
      ['xmail_ctrl_logins_total', { result: 'ok' }, daily(days, 0, 0.005)],
      ['xmail_ctrl_logins_total', { result: 'failed' }, daily(days, 0, 0.001)],
      ['xmail_psync_syncs_total', { result: 'ok' }, daily(days, 0.1, 0.1)],
      ['xmail_psync_syncs_total', { result: 'failed' }, daily(days, 0.004, 0.004)],
      ['xmail_psync_syncs_total', { result: 'no_user' }, constant(days * D + 1, 0)],
      ['xmail_psync_messages_total', { result: 'synced' }, daily(days, 0.01, 0.05)],
      ['xmail_filter_runs_total', { stage: 'in', result: 'passed' }, daily(days, 0, 0.25)],
      ['xmail_filter_runs_total', { stage: 'post-data', result: 'passed' }, daily(days, 0, 0.2)],
      ['xmail_filter_runs_total', { stage: 'post-data', result: 'rejected' }, daily(days, 0.002, 0.03)],
      ['xmail_filter_runs_total', { stage: 'post-data', result: 'error' }, constant(days * D + 1, 0)],
    ] + [
      ['xmail_exporter_log_directory_exists', { log: l }, constant(days * D + 1, 1)]
      for l in ['smtp', 'smail', 'pop3']
    ] + [
      ['xmail_exporter_log_files', { log: l }, constant(days * D + 1, 3)]
      for l in ['smtp', 'smail', 'pop3', 'ctrl', 'psync', 'filters']
    ] + [
      ['xmail_exporter_log_files', { log: l }, constant(days * D + 1, 0)]
      for l in ['lmail', 'finger']
    ] + spool(days * D + 1, 40, 2, 1) + (
      if webmail then [
        ['xmail_exporter_log_directory_exists', { log: 'webmail' }, constant(days * D + 1, 1)],
        ['xmail_webmail_errors_total', { category: 'php' }, daily(days, 0.002, 0.005)],
      ] else [
        ['xmail_exporter_log_directory_exists', { log: 'webmail' }, constant(days * D + 1, 0)],
      ]
    ),
    // Spool gauges: frozen (stable), retry, retry older than 4h; nothing queued.
    local spool(n, frozen, retry, retryOld) = [
      ['xmail_spool_messages', { queue: 'frozen' }, constant(n, frozen)],
      ['xmail_spool_messages', { queue: 'retry' }, constant(n, retry)],
      ['xmail_spool_messages', { queue: 'queued' }, constant(n, 0)],
      ['xmail_spool_oldest_message_age_seconds', { queue: 'queued' }, constant(n, 0)],
      ['xmail_spool_oldest_message_age_seconds', { queue: 'retry' }, constant(n, 30000)],
      ['xmail_spool_messages_older_than', { queue: 'retry', age: '4h' }, constant(n, retryOld)],
      ['xmail_spool_messages_older_than', { queue: 'retry', age: '12h' }, constant(n, 0)],
    ],

    // --- the large server: ~50 000 messages a day, constant refusals, a retry queue ~300
    local largeInst = 'mx.example.net:10587',
    local large(days) = [
      ['up', {}, constant(days * D + 1, 1)],
      ['xmail_mail_received_total', { source: 'external' }, daily(days, 18, 45)],
      ['xmail_mail_received_total', { source: 'authenticated' }, daily(days, 2, 5)],
      ['xmail_mail_delivered_total', { type: 'LOCAL', origin: 'smtp' }, daily(days, 18, 45)],
      ['xmail_mail_delivered_total', { type: 'SMTP', origin: 'smtp' }, daily(days, 2, 5)],
      ['xmail_mail_bounced_total', {}, daily(days, 0.3, 0.6)],
      ['xmail_mail_refused_total', { stage: 'connection' }, daily(days, 30, 30)],
      ['xmail_mail_refused_total', { stage: 'recipient' }, daily(days, 10, 10)],
      ['xmail_mail_refused_total', { stage: 'auth' }, daily(days, 5, 5)],
      ['xmail_smtp_recipients_total', { result: 'accepted' }, daily(days, 25, 60)],
      ['xmail_smtp_recipients_total', { result: 'refused' }, daily(days, 10, 10)],
      ['xmail_smtp_auth_failures_total', { mechanism: 'LOGIN' }, daily(days, 5, 5)],
      ['xmail_smtp_dnsbl_refusals_total', { list: 'zen.spamhaus.org' }, daily(days, 15, 15)],
      ['xmail_pop3_logins_total', { result: 'ok' }, daily(days, 5, 20)],
      ['xmail_pop3_logins_total', { result: 'failed' }, daily(days, 1, 1)],
      ['xmail_webmail_errors_total', { category: 'php' }, daily(days, 0.1, 0.5)],
      ['xmail_exporter_log_lines_total', { log: 'smtp', result: 'ok' }, daily(days, 100, 150)],
      ['xmail_exporter_log_lines_total', { log: 'smtp', result: 'malformed' }, daily(days, 0.5, 0.5)],
      ['xmail_exporter_log_lag_bytes', { log: 'smtp' }, constant(days * D + 1, 20000)],
      ['xmail_delivery_delay_seconds_bucket', { type: 'SMTP', le: '60' }, daily(days, 1.8, 4.5)],
      ['xmail_delivery_delay_seconds_bucket', { type: 'SMTP', le: '900' }, daily(days, 1.95, 4.9)],
      ['xmail_delivery_delay_seconds_bucket', { type: 'SMTP', le: '+Inf' }, daily(days, 2, 5)],
      ['xmail_delivery_delay_seconds_count', { type: 'SMTP' }, daily(days, 2, 5)],
      // Several admins and monitoring on the admin port, a few typos; PSYNC for dozens of
      // accounts (one of them dead); an antivirus and a spam filter rejecting steadily.
      ['xmail_ctrl_logins_total', { result: 'ok' }, daily(days, 0.05, 0.2)],
      ['xmail_ctrl_logins_total', { result: 'failed' }, daily(days, 0.002, 0.01)],
      ['xmail_psync_syncs_total', { result: 'ok' }, daily(days, 3, 3)],
      ['xmail_psync_syncs_total', { result: 'failed' }, daily(days, 0.1, 0.1)],
      ['xmail_psync_syncs_total', { result: 'no_user' }, daily(days, 0.01, 0.01)],
      ['xmail_filter_runs_total', { stage: 'post-data', result: 'passed' }, daily(days, 18, 45)],
      ['xmail_filter_runs_total', { stage: 'post-data', result: 'rejected' }, daily(days, 2, 4)],
      ['xmail_filter_runs_total', { stage: 'post-rcpt', result: 'rejected' }, daily(days, 0.5, 1)],
      ['xmail_filter_runs_total', { stage: 'post-data', result: 'error' }, constant(days * D + 1, 0)],
      ['xmail_lmail_messages_total', {}, daily(days, 0.5, 2)],
    ] + [
      ['xmail_exporter_log_last_event_timestamp_seconds', { log: l }, [['clock', days * D + 1]]]
      for l in ['smtp', 'smail', 'pop3']
    ] + [
      ['xmail_exporter_log_directory_exists', { log: l }, constant(days * D + 1, 1)]
      for l in ['smtp', 'smail', 'pop3', 'webmail']
    ] + spool(days * D + 1, 900, 300, 12),

    // Apply f(ops, name, labels) to every series of a scenario.
    local mapOps(list, f) = [[x[0], x[1], f(x[2], x[0], x[1])] for x in list],
    local isCounter(name) = std.endsWith(name, '_total') || std.endsWith(name, '_bucket') || std.endsWith(name, '_count'),

    local restartTimes = [8 * D + 10 * H, 9 * D + 3 * H, 12 * D + 14 * H],
    local restartChecks = [m + d for m in restartTimes for d in [5, 10, 15, 30, 60]],
    local quietScenarios = [
      {
        name: 'quiet: a small server, two weeks of day/night traffic (botnets and POP3 all night)',
        interval: '5m',
        input_series: series(smallInst, small(14), 5),
        alert_rule_test: quiet(every4h(0, 14 * D)),
      },
      {
        // Restarts by day and by night: counters start again from 0, every series is
        // missing for a scrape, the spool gauges for 6 minutes (absent until the first
        // count), the last-event timestamps come back from the state file.
        name: 'quiet: exporter restarts on a small server',
        interval: '5m',
        local restarts = restartTimes,
        local restarted(ops, name, labels) =
          std.foldl(function(o, m)
            if name == 'up' then from(o, m, function(op) op) // replaced below
            else restartAt(o, m, if std.startsWith(name, 'xmail_spool_') then 10 else 5, isCounter(name)), restarts, ops),
        input_series: series('restarted.example.org:10587', [
          if x[0] == 'up' then ['up', {}, std.foldl(function(o, m) local p = splitAt(o, m); local q = splitAt(p.after, 5); p.before + [['const', 5, 0]] + q.after, restarts, x[2])]
          else [x[0], x[1], restarted(x[2], x[0], x[1])]
          for x in small(14)
        ], 5),
        alert_rule_test: quiet(every4h(7 * D, 14 * D) + [m + d for m in restarts for d in [5, 10, 15, 30, 60]]),
      },
      {
        name: 'quiet: a host without Nmail (webmail directory missing, no webmail series)',
        interval: '5m',
        input_series: series('nonmail.example.org:10587', small(14, webmail=false), 5),
        alert_rule_test: quiet(every4h(7 * D, 14 * D)),
      },
      {
        // With the small profile a large host has to be compared with its own last week:
        // checked in the second week only (the large profile is quiet in both, see
        // scripts/check-rules.sh).
        name: "quiet: a large server's normal background (50 000 messages a day, retry queue ~300)",
        interval: '5m',
        input_series: series(largeInst, large(14), 5),
        alert_rule_test: quiet(every4h(if c.profile == 'large' then 0 else 7 * D, 14 * D)),
      },
    ],

    // --- outages that must fire within two hours of the stop ----------------------------
    local stopDay = 7 * D + 14 * H,
    local stopNight = 7 * D + 2 * H,
    local stopDeliveries = 7 * D + 10 * H,
    local nightInst = 'night.example.org:10587',
    local logsSilent(m, hosts) = {
      eval_time: dur(m),
      alertname: 'XmailLogsSilent',
      exp_alerts: [{
        exp_labels: { severity: 'critical', job: job, instance: h[0] },
        exp_annotations: {
          summary: 'XMail on %s has written no log line for %s' % h,
          description: 'The newest SMTP, SMAIL and POP3 log lines xmail_exporter has read on %s are all older than %s (threshold %ds while one week ago at this time they were not, or %ds on a host with less than a week of history). XMail is down or unreachable, or it no longer writes its logs (full disk, -Sl/-Ql/-Pl switches, another log directory).' % [h[0], h[1], t.logsSilentSeconds, t.logsSilentNoBaselineSeconds],
          runbook_url: url('XmailLogsSilent'),
        },
      } for h in hosts],
    },
    local stuckInst = 'stuck.example.org:10587',
    local freshInst = 'fresh.example.org:10587',
    local freshStop = 1 * D + 14 * H,
    local stopAll(list, m) = mapOps(list, function(ops, name, labels) if name == 'up' || std.startsWith(name, 'xmail_spool_') || std.startsWith(name, 'xmail_exporter_log_directory') then ops else stopAt(ops, m)),
    local outageScenarios = [
      {
        name: 'fires: XMail stops writing any log at 14:00 (small server)',
        interval: '5m',
        input_series: series(smallInst, stopAll(small(8), stopDay), 5),
        alert_rule_test: [
          // The night host (stopped at 02:00) is in the same group and still silent.
          silent(stopNight + H, 'XmailLogsSilent'),
          logsSilent(stopNight + 2 * H, [[nightInst, '2h 5m 0s']]),
          logsSilent(stopDay + H, [[nightInst, '13h 5m 0s']]),
          logsSilent(stopDay + 2 * H, [[nightInst, '14h 5m 0s'], [smallInst, '2h 5m 0s']]),
        ],
      },
      {
        name: 'fires: XMail stops writing any log at 02:00 (small server, night)',
        interval: '5m',
        input_series: series(nightInst, stopAll(small(8), stopNight), 5),
        alert_rule_test: [
        ],
      },
      {
        // A new install: no week of history to compare with. Quiet through its first day
        // and night, fires within two hours of the stop at 14:00 on day 2.
        name: 'fires: XMail stops writing any log on a host installed the day before (no baseline)',
        interval: '5m',
        input_series: series(freshInst, stopAll(small(2), freshStop), 5),
        alert_rule_test: [silent(H * k, 'XmailLogsSilent') for k in std.range(1, 39)] + [
          logsSilent(freshStop + 2 * H, [[freshInst, '2h 5m 0s']]),
        ],
      },
      {
        name: 'fires: XMail receives but no longer delivers from 10:00 (small server)',
        interval: '5m',
        input_series: series(stuckInst, mapOps(small(8), function(ops, name, labels)
          if name == 'xmail_mail_delivered_total' || name == 'xmail_mail_bounced_total' || std.startsWith(name, 'xmail_delivery_delay') || labels == { log: 'smail' } then stopAt(ops, stopDeliveries) else ops), 5),
        alert_rule_test: [
          silent(stopDeliveries + 30, 'XmailNoDeliveries'),
          fires(stopDeliveries + 2 * H, 'XmailNoDeliveries', { instance: stuckInst },
                'XMail on %s receives mail but delivers none' % stuckInst,
                'XMail on %s received 13.2 messages in the last hour (threshold %s) but delivered none: the queue is stuck (SMAIL threads hang, spool or mailbox disk full), or the SMAIL log is no longer written.' % [stuckInst, t.noDeliveriesMinReceivedPerHour]),
        ],
      },
    ],

    // --- one firing scenario per remaining alert (short, unless `offset 1w` needs history)
    local i = 'mail.example.org:10587',
    local firing = [
      {
        name: 'fires: exporter unreachable',
        interval: '1m',
        input_series: series(i, [['up', {}, constant(10, 1) + constant(50, 0)]]),
        alert_rule_test: [
          silent(20, 'XmailExporterDown'),
          fires(35, 'XmailExporterDown', { instance: i },
                'xmail_exporter on %s is unreachable' % i,
                'Prometheus has not scraped xmail_exporter at %s (job %s) for %s. Either the exporter or the whole mail host is down: nobody can tell whether mail flows, and every other XMail alert of this host is blind.' % [i, job, t.exporterDownFor]),
        ],
      },
      {
        name: 'fires: no xmail target at all',
        interval: '1m',
        input_series: [
          { series: 'up{job="node", instance="mail.example.org:9100"}', values: '1x60' },
          { series: lbl('up', {}, i), values: '1x5' },
        ],
        alert_rule_test: [
          silent(5, 'XmailExporterAbsent'),
          fires(45, 'XmailExporterAbsent', {},
                'No xmail_exporter target is known to Prometheus',
                'Prometheus has had no target matching {%s} for 15 minutes: the scrape configuration or service discovery lost the exporter, so nothing about XMail is monitored.' % c.selector),
        ],
      },
      {
        // A week of normal recipients, then a dictionary attack: refusals x20, acceptances
        // down to a tenth. AUTH is quiet, so only this alert fires.
        name: 'fires: recipient acceptance drops against the same hour last week',
        interval: '5m',
        local m0 = W + 2 * H,
        input_series: series(i, [
          ['xmail_smtp_recipients_total', { result: 'accepted' }, [['rate', m0, 1], ['rate', 3 * H, 0.1]]],
          ['xmail_smtp_recipients_total', { result: 'refused' }, [['rate', m0, 0.1], ['rate', 3 * H, 2]]],
        ], 5),
        alert_rule_test: [
          silent(m0, 'XmailRecipientAcceptanceDrop'),
          fires(m0 + 2 * H, 'XmailRecipientAcceptanceDrop', { instance: i },
                'Only 4.762%% of SMTP recipients accepted on %s' % i,
                'In the last hour XMail on %s accepted only 4.762%% of the recipients offered, less than %s times the share of the same hour one week ago (with at least %s refusals now). A dictionary attack (unknown users), or a change that refuses legitimate mail (relay rules, DNS, a filter).' % [i, t.acceptanceFactor, t.acceptanceMinRefusedPerHour]),
        ],
      },
      {
        name: 'fires: one DNSBL refuses far more than the same hour last week',
        interval: '5m',
        local m0 = W + 2 * H,
        input_series: series(i, [
          ['xmail_smtp_dnsbl_refusals_total', { list: 'bl.example.org' }, [['rate', m0, 0.2], ['rate', 3 * H, 40]]],
          ['xmail_smtp_dnsbl_refusals_total', { list: 'zen.spamhaus.org' }, [['rate', m0 + 3 * H, 0.5]]],
        ], 5),
        alert_rule_test: [
          silent(m0, 'XmailDnsblRefusalSpike'),
          fires(m0 + 2 * H, 'XmailDnsblRefusalSpike', { instance: i, list: 'bl.example.org' },
                'DNSBL bl.example.org refused 2400 clients in an hour on %s' % i,
                'DNSBL bl.example.org refused 2400 SMTP clients on %s in the last hour (threshold %s), more than %s times the same hour one week ago. A spam wave, or the list answers "listed" for everyone (dead list, blocked resolver) and real mail is refused.' % [i, t.dnsblMinPerHour, t.dnsblFactor]),
        ],
      },
      {
        // Password guessing: AUTH=EFAIL lines are refusals of stage "auth", not recipient
        // decisions, so the acceptance alert stays silent.
        name: 'fires: SMTP AUTH password guessing (and only the AUTH alert)',
        interval: '5m',
        local m0 = W + 2 * H,
        input_series: series(i, [
          ['xmail_smtp_auth_failures_total', { mechanism: 'LOGIN' }, [['rate', m0, 0.1], ['rate', H, 40]]],
          ['xmail_mail_refused_total', { stage: 'auth' }, [['rate', m0, 0.1], ['rate', H, 40]]],
          ['xmail_smtp_recipients_total', { result: 'accepted' }, [['rate', m0 + H, 1]]],
          ['xmail_smtp_recipients_total', { result: 'refused' }, [['rate', m0 + H, 0.5]]],
        ], 5),
        alert_rule_test: [
          silent(m0, 'XmailSmtpAuthFailureBurst'),
          silent(m0 + 30, 'XmailRecipientAcceptanceDrop'),
          fires(m0 + 30, 'XmailSmtpAuthFailureBurst', { instance: i },
                'SMTP AUTH failure burst on %s' % i,
                '200 SMTP AUTH attempts failed on %s in the last 5 minutes (threshold %s): password guessing, or a client with a stale password. Check the client IPs of the AUTH=EFAIL lines.' % [i, t.authFailuresPer5m]),
        ],
      },
      {
        name: 'fires: POP3 password guessing',
        interval: '1m',
        input_series: series(i, [
          ['xmail_pop3_logins_total', { result: 'failed' }, [['rate', 30, 0.1], ['rate', 60, 40]]],
          ['xmail_pop3_logins_total', { result: 'ok' }, [['rate', 90, 1]]],
        ]),
        alert_rule_test: [
          silent(30, 'XmailPop3LoginFailureBurst'),
          fires(60, 'XmailPop3LoginFailureBurst', { instance: i },
                'POP3 login failure burst on %s' % i,
                '200 POP3 logins failed on %s in the last 5 minutes (threshold %s): password guessing, or a client with a stale password. Check the client IPs of the ELOGIN lines.' % [i, t.pop3FailuresPer5m]),
        ],
      },
      {
        name: 'fires: password guessing on the CTRL (admin) port',
        interval: '1m',
        input_series: series(i, [
          ['xmail_ctrl_logins_total', { result: 'failed' }, [['rate', 30, 0.01], ['rate', 60, 2]]],
          ['xmail_ctrl_logins_total', { result: 'ok' }, [['rate', 90, 0.01]]],
        ]),
        alert_rule_test: [
          silent(30, 'XmailCtrlLoginFailures'),
          fires(60, 'XmailCtrlLoginFailures', { instance: i },
                'Failed logins on the XMail admin port of %s' % i,
                '30 logins on the XMail CTRL (admin) port of %s failed in the last 15 minutes (threshold %s): someone guesses the administrator password, or an admin tool uses an old one. Check the client IPs of the FAIL lines of the ctrl log.' % [i, t.ctrlFailuresPer15m]),
        ],
      },
      {
        // Syncs work for an hour, then every sync fails (the remote server is unreachable).
        name: 'fires: every POP3 sync fails',
        interval: '1m',
        input_series: series(i, [
          ['xmail_psync_syncs_total', { result: 'ok' }, [['rate', 60, 0.2], ['hold', 120]]],
          ['xmail_psync_syncs_total', { result: 'failed' }, [['rate', 60, 0], ['rate', 120, 0.5]]],
          ['xmail_psync_syncs_total', { result: 'no_user' }, constant(180, 0)],
        ]),
        alert_rule_test: [
          silent(90, 'XmailPsyncFailing'),
          silent(125, 'XmailPsyncFailing'),
          fires(150, 'XmailPsyncFailing', { instance: i },
                'Every POP3 sync of the last hour failed on %s' % i,
                '30 syncs of external POP3 accounts (POP3LINKS) failed on %s in the last hour and none succeeded (threshold %s failures): the remote POP3 servers cannot be reached (DNS, network, firewall), or their passwords or the local users are gone. Mail of those accounts is not fetched.' % [i, t.psyncMinFailuresPerHour]),
        ],
      },
      {
        // One dead account among working ones: failures every hour, but syncs succeed too.
        name: 'quiet: one dead POP3 account among working ones',
        interval: '1m',
        input_series: series('psync.example.org:10587', [
          ['xmail_psync_syncs_total', { result: 'ok' }, [['rate', 180, 0.5]]],
          ['xmail_psync_syncs_total', { result: 'failed' }, [['rate', 180, 0.5]]],
          ['xmail_psync_syncs_total', { result: 'no_user' }, [['rate', 180, 0.1]]],
        ]),
        alert_rule_test: [silent(m, 'XmailPsyncFailing') for m in [60, 120, 170]],
      },
      {
        // Filters that cannot run (post-data filter missing), not filters that reject.
        name: 'fires: post-data filters fail to run',
        interval: '1m',
        input_series: series(i, [
          ['xmail_filter_runs_total', { stage: 'post-data', result: 'passed' }, [['rate', 90, 1]]],
          ['xmail_filter_runs_total', { stage: 'post-data', result: 'rejected' }, [['rate', 90, 0.1]]],
          ['xmail_filter_runs_total', { stage: 'post-data', result: 'error' }, [['rate', 30, 0], ['rate', 60, 0.4]]],
        ]),
        alert_rule_test: [
          silent(30, 'XmailFilterErrors'),
          silent(40, 'XmailFilterErrors'),
          fires(60, 'XmailFilterErrors', { instance: i, stage: 'post-data' },
                'XMail post-data filters fail to run on %s' % i,
                '6 post-data filter runs on %s could not run in the last 15 minutes (threshold: more than %s, for %s): a filter program is missing, not executable, crashes or times out. Depending on the filter flags the messages pass unfiltered or are refused.' % [i, t.filterErrorsPer15m, t.filterErrorsFor]),
        ],
      },
      {
        name: 'fires: a filter stage rejects far more than the same hour last week',
        interval: '5m',
        local m0 = W + 2 * H,
        input_series: series(i, [
          ['xmail_filter_runs_total', { stage: 'post-data', result: 'rejected' }, [['rate', m0, 0.1], ['rate', 3 * H, 3]]],
          ['xmail_filter_runs_total', { stage: 'post-data', result: 'passed' }, [['rate', m0 + 3 * H, 1]]],
          ['xmail_filter_runs_total', { stage: 'in', result: 'rejected' }, [['rate', m0 + 3 * H, 0.1]]],
        ], 5),
        alert_rule_test: [
          silent(m0, 'XmailFilterRejectSpike'),
          fires(m0 + 2 * H, 'XmailFilterRejectSpike', { instance: i, stage: 'post-data' },
                'XMail post-data filters rejected 180 messages in an hour on %s' % i,
                'The post-data filters of XMail on %s rejected 180 messages in the last hour (threshold %s), more than %s times the same hour one week ago. A spam or virus wave, or a filter (its rules, signatures or the service it asks) that now rejects legitimate mail.' % [i, t.filterRejectMinPerHour, t.filterRejectFactor]),
        ],
      },
      {
        name: 'fires: bounces jump against the same hour last week',
        interval: '5m',
        local m0 = W + 2 * H,
        input_series: series(i, [
          ['xmail_mail_bounced_total', {}, [['rate', m0, 0.01], ['rate', 3 * H, 10]]],
          ['xmail_mail_delivered_total', { type: 'LOCAL', origin: 'smtp' }, [['rate', m0 + 3 * H, 20]]],
        ], 5),
        alert_rule_test: [
          silent(m0, 'XmailBounceSpike'),
          fires(m0 + 2 * H, 'XmailBounceSpike', { instance: i },
                'XMail on %s sent 600 bounces in an hour' % i,
                'XMail on %s sent 600 bounce notifications in the last hour (threshold %s), at least %s of its deliveries and more than %s times the same hour one week ago. A compromised account sending spam, a mailing list with dead addresses, or a remote domain refusing our mail.' % [i, t.bounceMinPerHour, t.bounceRatio, t.bounceFactor]),
        ],
      },
      {
        name: 'fires: webmail errors (errors, not stack-trace lines)',
        interval: '1m',
        input_series: series(i, [
          ['xmail_webmail_errors_total', { category: 'database' }, [['rate', 30, 0.01], ['rate', 60, 10]]],
        ]),
        alert_rule_test: [
          silent(30, 'XmailWebmailErrorBurst'),
          fires(60, 'XmailWebmailErrorBurst', { instance: i, category: 'database' },
                'Webmail database errors on %s' % i,
                'The webmail error log on %s recorded 100 errors of category database in the last 10 minutes (threshold %s).' % [i, t.webmailErrorsPer10m]),
        ],
      },
      {
        name: 'fires: queued mail not attempted',
        interval: '1m',
        input_series: series(i, [
          ['xmail_spool_oldest_message_age_seconds', { queue: 'queued' }, constant(30, 0) + [['clock', 60]]],
        ]),
        alert_rule_test: [
          silent(35, 'XmailSpoolQueuedStuck'),
          fires(80, 'XmailSpoolQueuedStuck', { instance: i },
                'Queued mail on %s has waited 1h 20m 0s without a delivery attempt' % i,
                'The oldest message of the XMail queue on %s (spool/*/*/mess: never attempted yet) is 1h 20m 0s old (threshold %ss). XMail normally takes new messages within seconds: the SMAIL threads are stuck or overloaded, or a filter hangs.' % [i, t.queuedAgeSeconds]),
        ],
      },
      {
        name: 'fires: frozen queue grows within an hour',
        interval: '1m',
        input_series: series(i, [
          ['xmail_spool_messages', { queue: 'frozen' }, constant(60, 40) + constant(30, 40 + 2 * t.frozenGrowthPerHour)],
        ]),
        alert_rule_test: [
          silent(55, 'XmailSpoolFrozenGrowing'),
          fires(75, 'XmailSpoolFrozenGrowing', { instance: i },
                '%d messages frozen within an hour on %s' % [2 * t.frozenGrowthPerHour, i],
                'The frozen queue of the XMail spool on %s (spool/*/*/froz) grew by %d messages within the last hour (threshold %s): deliveries or filters that failed for good. spool/*/*/slog says why for each.' % [i, 2 * t.frozenGrowthPerHour, t.frozenGrowthPerHour]),
        ],
      },
      {
        name: 'fires: retry messages older than 4h pile up against last week',
        interval: '5m',
        local m0 = W + H,
        local n = 4 * t.retryOld4hFloor,
        input_series: series(i, [
          ['xmail_spool_messages_older_than', { queue: 'retry', age: '4h' }, constant(m0, 1) + constant(3 * H, n)],
        ], 5),
        alert_rule_test: [
          silent(m0 + 30, 'XmailSpoolRetryBacklog'),
          fires(m0 + 2 * H, 'XmailSpoolRetryBacklog', { instance: i },
                '%d messages have waited over 4h for a retry on %s' % [n, i],
                '%d messages in the retry queue of XMail on %s (spool/*/*/rsnd) are older than 4 hours (floor %s), more than %s times as many as one week ago. Remote servers keep refusing or cannot be reached: our IP on a blocklist, DNS, outbound port 25 blocked, or backscatter.' % [n, i, t.retryOld4hFloor, t.retryOld4hFactor]),
        ],
      },
      {
        // Relayed (RLYS) deliveries count as remote too.
        name: 'fires: remote (RLYS) deliveries slow',
        interval: '1m',
        local n = 4 * t.deliveryDelayMinDeliveries / 30,
        local b(le, fast, slow) = ['xmail_delivery_delay_seconds_bucket', { type: 'RLYS', le: le }, [['rate', 60, fast], ['rate', 90, slow]]],
        input_series: series(i, [
          b('60', n, 0.1 * n), b('600', n, 0.1 * n), b('900', n, n), b('+Inf', n, n),
          ['xmail_delivery_delay_seconds_count', { type: 'RLYS' }, [['rate', 150, n]]],
        ]),
        alert_rule_test: [
          silent(60, 'XmailDeliveryDelayHigh'),
          fires(145, 'XmailDeliveryDelayHigh', { instance: i },
                'Remote deliveries from %s are slow: p90 14m 26s' % i,
                '90%% of the remote deliveries (SMTP, RLYS, FWD) of XMail on %s in the last 30 minutes took up to 14m 26s from receipt (threshold %ss, at least %s deliveries): many first attempts fail and wait in the retry queue.' % [i, t.deliveryDelayP90Seconds, t.deliveryDelayMinDeliveries]),
        ],
      },
      {
        name: 'fires: malformed lines',
        interval: '1m',
        input_series: series(i, [
          ['xmail_exporter_log_lines_total', { log: 'smail', result: 'ok' }, [['rate', 90, 10]]],
          ['xmail_exporter_log_lines_total', { log: 'smail', result: 'malformed' }, [['rate', 30, 0], ['rate', 60, 5]]],
        ]),
        alert_rule_test: [
          silent(30, 'XmailExporterMalformedLines'),
          fires(80, 'XmailExporterMalformedLines', { instance: i, log: 'smail' },
                '33.33% of smail log lines are malformed on ' + i,
                'xmail_exporter on %s could not parse 33.33%% of the smail log lines of the last 15 minutes (threshold %s): the log format drifted (XMail upgrade, webmail update, encoding) and those events are not counted.' % [i, t.malformedRatio]),
        ],
      },
      {
        name: 'fires: reading lag stays high',
        interval: '1m',
        input_series: series(i, [
          ['xmail_exporter_log_lag_bytes', { log: 'smtp' }, constant(10, 0) + constant(50, 2 * t.lagBytes)],
        ]),
        alert_rule_test: [
          silent(15, 'XmailExporterLagGrowing'),
          fires(45, 'XmailExporterLagGrowing', { instance: i, log: 'smtp' },
                'xmail_exporter is %sMiB behind the smtp log on %s' % [2 * t.lagBytes / 1048576, i],
                'xmail_exporter on %s has %sMiB of the smtp log left to read (threshold %s bytes), for 15 minutes and not shrinking: metrics lag behind, the exporter is stuck or CPU-starved.' % [i, 2 * t.lagBytes / 1048576, t.lagBytes]),
        ],
      },
      {
        name: 'fires: read errors on an existing log',
        interval: '1m',
        input_series: series(i, [
          ['xmail_exporter_log_read_errors_total', { log: 'pop3' }, constant(10, 0) + [['rate', 50, 1]]],
        ]),
        alert_rule_test: [
          silent(5, 'XmailExporterReadErrors'),
          fires(40, 'XmailExporterReadErrors', { instance: i, log: 'pop3' },
                'xmail_exporter cannot read the pop3 log on ' + i,
                "xmail_exporter on %s failed 10 time(s) in the last 10 minutes to read pop3 log files that exist: lines may be missing. Usually permissions; the exporter's own log names the file." % i),
        ],
      },
      {
        name: 'fires: the XMail log directory is missing',
        interval: '1m',
        input_series: series(i, [
          ['xmail_exporter_log_directory_exists', { log: 'smtp' }, constant(10, 1) + constant(40, 0)],
          ['xmail_exporter_log_directory_exists', { log: 'webmail' }, constant(50, 0)],
        ]),
        alert_rule_test: [
          silent(15, 'XmailExporterLogDirectoryMissing'),
          fires(35, 'XmailExporterLogDirectoryMissing', { instance: i, log: 'smtp' },
                'xmail_exporter on %s finds no smtp log directory' % i,
                'The directory xmail_exporter reads the smtp log from on %s does not exist or cannot be listed: nothing of that log is counted. A wrong --xmail.log-dir, an unmounted volume, or lost permissions.' % i),
        ],
      },
      {
        name: 'fires: spool counts fail',
        interval: '1m',
        input_series: series(i, [
          ['xmail_exporter_spool_scan_errors_total', {}, constant(10, 0) + [['rate', 50, 2]]],
        ]),
        alert_rule_test: [
          silent(5, 'XmailExporterSpoolScanErrors'),
          fires(40, 'XmailExporterSpoolScanErrors', { instance: i },
                'xmail_exporter cannot count the XMail spool on ' + i,
                '30 spool counts of xmail_exporter on %s failed or timed out in the last 15 minutes (threshold %s): the spool gauges keep old values and the spool alerts are blind.' % [i, t.spoolScanErrorsPer15m]),
        ],
      },
      {
        name: 'fires: a log file was truncated',
        interval: '1m',
        input_series: series(i, [
          ['xmail_exporter_log_truncations_total', { log: 'smail' }, constant(20, 0) + constant(40, 1)],
        ]),
        alert_rule_test: [
          silent(15, 'XmailExporterLogTruncated'),
          fires(30, 'XmailExporterLogTruncated', { instance: i, log: 'smail' },
                'A smail log file was truncated on ' + i,
                'xmail_exporter on %s saw smail log files shrink in the last hour: XMail never truncates its logs, some rotation job does, and lines written between the last read and the truncation are lost.' % i),
        ],
      },
    ],

    // Scenarios of the same interval run as one promtool group, each on its own instance
    // (promtool evaluates every rule at every step of a group: one two-week group is far
    // cheaper than four).
    local retag(x, inst) = {
      local r(v) = if std.type(v) == 'string' then std.strReplace(v, 'mail.example.org:10587', inst)
                   else if std.type(v) == 'object' then { [f]: r(v[f]) for f in std.objectFields(v) }
                   else if std.type(v) == 'array' then [r(e) for e in v] else v,
      res: r(x),
    }.res,
    local merge(name, list) = {
      name: name + ': ' + std.join('; ', [x.name for x in list]),
      interval: list[0].interval,
      input_series: std.flattenArrays([x.input_series for x in list]),
      alert_rule_test: std.flattenArrays([x.alert_rule_test for x in list]),
    },
    local weekFiring = [x for x in firing if std.startsWith(x.name, 'fires:') && x.interval == '5m'],
    local shortFiring = [x for x in firing if x.interval == '1m'],
    rule_files: ['rules.yml', 'alerts.yml'],
    evaluation_interval: '5m',
    tests: [
             // The quiet checks of the second week (the first is the offset-1w baseline) and
             // around the restarts, for every host of the group.
             merge('quiet', quietScenarios) { alert_rule_test: quiet(every4h(7 * D, 14 * D) + restartChecks) },
             merge('outages and alerts that need a week of history',
                   outageScenarios + [retag(weekFiring[j], 'mail%d.example.org:10587' % j) for j in std.range(0, std.length(weekFiring) - 1)]),
           ]
           + shortFiring,
  },
  // Only the scenarios in which nothing may fire (for other threshold profiles).
  quietOnly(mixin):: self.file(mixin) { tests: [x for x in super.tests if std.startsWith(x.name, 'quiet:')] },
}
