// Recording rules (deploy/prometheus/rules.yml). The names are a contract: the fleet
// dashboard and the alerts read them. All are `sum by (job, instance)` over the selector,
// except the last-event age, which keeps `log`.
{
  prometheusRules+:: {
    local c = $._config,
    local rate(name, metric, matchers, window) = {
      record: 'job_instance:%s:rate%s' % [name, window],
      expr: 'sum by (job, instance) (rate(%s{%s%s}[%s]))' % [metric, c.selector, matchers, window],
    },
    groups+: [
      {
        name: 'xmail-recording',
        rules: [
          rate('xmail_mail_received', 'xmail_mail_received_total', '', '5m'),
          rate('xmail_mail_received', 'xmail_mail_received_total', '', '1h'),
          rate('xmail_mail_delivered', 'xmail_mail_delivered_total', '', '5m'),
          rate('xmail_mail_delivered', 'xmail_mail_delivered_total', '', '1h'),
          rate('xmail_mail_bounced', 'xmail_mail_bounced_total', '', '5m'),
          rate('xmail_mail_bounced', 'xmail_mail_bounced_total', '', '1h'),
          rate('xmail_mail_refused', 'xmail_mail_refused_total', '', '5m'),
          rate('xmail_mail_refused', 'xmail_mail_refused_total', '', '1h'),
          rate('xmail_smtp_recipients_accepted', 'xmail_smtp_recipients_total', ', result="accepted"', '1h'),
          rate('xmail_smtp_recipients_refused', 'xmail_smtp_recipients_total', ', result="refused"', '1h'),
          rate('xmail_smtp_auth_failures', 'xmail_smtp_auth_failures_total', '', '5m'),
          rate('xmail_pop3_login_failures', 'xmail_pop3_logins_total', ', result="failed"', '5m'),
          {
            record: 'job_instance:xmail_log_last_event_age:seconds',
            expr: 'time() - max by (job, instance, log) (xmail_exporter_log_last_event_timestamp_seconds{%s} > 0)' % c.selector,
          },
        ],
      },
    ],
  },
}
