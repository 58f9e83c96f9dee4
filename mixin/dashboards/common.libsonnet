// What both dashboards share: the job/instance variables, the selector helper and the links
// to the exporter's console.
local g = import 'lib.libsonnet';

{
  new(config):: {
    local jobLabel = config.jobLabel,
    local instanceLabel = config.instanceLabel,

    // `{job=~"$job", instance=~"$instance", <extra>}`: every query of the exporter's series.
    sel(extra='')::
      '{%s=~"$job", %s=~"$instance"%s}' % [jobLabel, instanceLabel, if extra == '' then '' else ', ' + extra],

    // The scrape job(s) of the mixin's selector, from `up`, so the list holds a job whose
    // exporters are all down.
    jobVariable:: g.labelValuesVariable(
      'job', jobLabel, 'up', config.selector,
      'Prometheus scrape job of the exporter (the mixin selector %s).' % config.selector,
    ),

    // Hosts from `up`, not from an xmail_* metric: a host whose exporter is down (or whose
    // exporter never came up) stays in the list and in the fleet table, with up = 0.
    instanceVariable:: g.labelValuesVariable(
      'instance', instanceLabel, 'up', '%s=~"$job"' % jobLabel,
      'Exporter instance(s), one per XMail server. From `up`, so a host whose exporter is down stays selectable.',
      multi=true,
    ),

    // The exporter's web console (--web.enable-console) is served on the address Prometheus
    // scrapes, so `instance` (host:port) is where it is; only the scheme is not in the data.
    consoleSchemeVariable:: g.customVariable(
      'console_scheme', ['http', 'https'], config.consoleScheme,
      "How the exporter's console is reached: https when --web.config.file sets TLS, http otherwise. The links to the mail desk use it.",
      title='Console scheme',
    ),

    // A link to the console's desk at `host` (a data link variable or `${instance}`) for the
    // dashboard's time range: the days of its start and end (browser time; `until` is
    // inclusive). Opens in a new tab.
    deskLink(title, host):: {
      title: title,
      url: '${console_scheme}://' + host + '/?since=${__from:date:YYYY-MM-DD}&until=${__to:date:YYYY-MM-DD}',
      targetBlank: true,
    },

    restartAnnotation:: g.annotation(
      'Exporter restarts',
      'changes(process_start_time_seconds%s[2m]) > 0' % self.sel(),
      'xmail_exporter restarted',
      'orange',
    ),

    alertAnnotation:: g.annotation(
      'Firing XMail alerts',
      'ALERTS{alertname=~"Xmail.*", alertstate="firing"}',
      '{{alertname}}',
      'red',
      tagKeys='alertname,severity,instance',
    ),
  },
}
