// What both dashboards share: the job/instance variables and the selector helper.
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
