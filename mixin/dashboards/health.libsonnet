// XMail exporter health: the exporter's own metrics.
local g = import 'lib.libsonnet';

{
  new(config)::
    local c = (import 'common.libsonnet').new(config);
    local sel = c.sel;
    local t = g.target;
    local ti(expr, legend='') = g.target(expr, legend, instant=true);

    local upMappings = [{
      type: 'value',
      options: {
        '0': { text: 'DOWN', color: 'red', index: 0 },
        '1': { text: 'up', color: 'green', index: 1 },
      },
    }];
    local dirMappings = [{
      type: 'value',
      options: {
        '0': { text: 'missing', color: 'orange', index: 0 },
        '1': { text: 'present', color: 'green', index: 1 },
      },
    }];

    local stats = [
      g.stat('Exporter', 'up of each selected exporter as Prometheus scrapes it.',
             [ti('up%s' % sel(), '{{instance}}')], unit='none', decimals=null, w=3,
             mappings=upMappings, thresholds=g.steps('red', [[1, 'green']])),
      g.stat('Version', 'Version and revision of each selected exporter (xmail_exporter_build_info).',
             [ti('xmail_exporter_build_info%s' % sel(), '{{version}} ({{revision}})')], unit='none', decimals=null, w=4) {
        options+: { textMode: 'name' },
      },
      g.stat('Uptime', 'Time since each selected exporter process started.',
             [ti('time() - process_start_time_seconds%s' % sel(), '{{instance}}')], unit='s', decimals=null, w=3),
      g.stat('Lines read', 'Log lines read in the selected time range, every log and result.',
             [ti('sum(increase(xmail_exporter_log_lines_total%s[$__range]))' % sel(), 'lines')], w=4),
      g.stat('Malformed ratio', 'Lines that did not parse, as a share of all lines read in the selected time range.',
             [ti('sum(increase(xmail_exporter_log_lines_total%s[$__range]))\n/\nsum(increase(xmail_exporter_log_lines_total%s[$__range]))'
                 % [sel('result="malformed"'), sel()], 'malformed')],
             unit='percentunit', decimals=2, w=3, thresholds=g.steps('green', [[0.01, 'yellow'], [0.1, 'red']])),
      g.stat('Max lag', 'Bytes written to a log file that the exporter has not read yet, the largest of all logs.',
             [ti('max(xmail_exporter_log_lag_bytes%s)' % sel(), 'lag')], unit='bytes', decimals=null, w=3),
      g.stat('Read errors', 'Failures to read a log file or directory that exists, in the selected time range.',
             [ti('sum(increase(xmail_exporter_log_read_errors_total%s[$__range]))' % sel(), 'errors')], w=4,
             thresholds=g.steps('green', [[1, 'red']])),
    ];

    local reading = [
      g.timeseries('Lines per second by log and result', 'Log lines read per second, by log (smtp, smail, pop3, webmail) and result.',
                   [t('sum by (log, result) (rate(xmail_exporter_log_lines_total%s[$__rate_interval]))' % sel(), '{{log}} {{result}}')], 'cps'),
      g.timeseries('Malformed line ratio by log', 'Lines that did not parse as a share of the lines read, per log.',
                   [t('sum by (log) (rate(xmail_exporter_log_lines_total%s[$__rate_interval]))\n/\nsum by (log) (rate(xmail_exporter_log_lines_total%s[$__rate_interval]))'
                      % [sel('result="malformed"'), sel()], '{{log}}')], 'percentunit'),
      g.timeseries('Bytes read per second by log', 'Bytes of log read per second, per log.',
                   [t('sum by (log) (rate(xmail_exporter_log_read_bytes_total%s[$__rate_interval]))' % sel(), '{{log}}')], 'Bps'),
      g.timeseries('Reading lag by log', 'Bytes written to the current file of each log that the exporter has not read yet. Growing lag means the exporter cannot keep up.',
                   [t('max by (log) (xmail_exporter_log_lag_bytes%s)' % sel(), '{{log}}')], 'bytes'),
      g.timeseries('Time since the last event by log', 'Time since the last line of each log (log time). Restored from the state file at start-up, so it survives restarts. A quiet log (pop3 at night) grows; smtp and smail growing on a busy server mean XMail stopped logging or the exporter reads the wrong directory.',
                   [t('time() - max by (log) (xmail_exporter_log_last_event_timestamp_seconds%s > 0)' % sel(), '{{log}}')], 's', calcs=['lastNotNull', 'max']),
      g.timeseries('Rotations, truncations and read errors per minute', 'Log file rotations (XMail starts a new file), truncations (a file shrank and was read again from the start) and read errors, per minute.',
                   [
                     t('sum by (log) (rate(xmail_exporter_log_rotations_total%s[$__rate_interval])) * 60' % sel(), '{{log}} rotations'),
                     t('sum by (log) (rate(xmail_exporter_log_truncations_total%s[$__rate_interval])) * 60' % sel(), '{{log}} truncations'),
                     t('sum by (log) (rate(xmail_exporter_log_read_errors_total%s[$__rate_interval])) * 60' % sel(), '{{log}} read errors'),
                   ], 'cpm'),
      g.timeseries('Log directories', '1 when the directory of each log exists and can be listed, 0 when not. The webmail directory is optional: 0 on a host without Nmail is normal (logged once, no read errors); smtp, smail or pop3 at 0 means a wrong --xmail.log-dir.',
                   [t('min by (instance, log) (xmail_exporter_log_directory_exists%s)' % sel(), '{{instance}} {{log}}')], 'none',
                   w=24, h=6, calcs=['lastNotNull', 'min'], decimals=0) {
        fieldConfig+: { defaults+: { mappings: dirMappings, max: 1 } },
      },
    ];

    local spool = [
      g.timeseries('Spool count errors per minute', 'Failed counts of the spool directory (permissions, a vanished directory), per minute. While counts fail, the spool panels show the last successful count.',
                   [t('sum by (instance) (rate(xmail_exporter_spool_scan_errors_total%s[$__rate_interval])) * 60' % sel(), '{{instance}}')], 'cpm', w=8),
      g.timeseries('Delivery-delay join evictions per minute', 'Received messages forgotten before their deliveries because the delay join was full, per minute: their delivery delays are not measured.',
                   [t('sum by (instance) (rate(xmail_exporter_delivery_delay_evictions_total%s[$__rate_interval])) * 60' % sel(), '{{instance}}')], 'cpm', w=8),
      g.timeseries('Unmatched deliveries per minute', 'SMAIL deliveries of S messages whose RECV=OK was not read within the wait (a few seconds), per minute: typically messages received before the exporter started. Their delay is not measured.',
                   [t('sum by (instance) (rate(xmail_exporter_delivery_delay_unmatched_total%s[$__rate_interval])) * 60' % sel(), '{{instance}}')], 'cpm', w=8),
    ];

    local process = [
      g.timeseries('CPU', 'CPU time used by the exporter process, in cores.',
                   [t('rate(process_cpu_seconds_total%s[$__rate_interval])' % sel(), '{{instance}}')], 'percentunit', w=8),
      g.timeseries('Resident memory', 'Resident memory of the exporter process.',
                   [t('process_resident_memory_bytes%s' % sel(), '{{instance}}')], 'bytes', w=8),
      g.timeseries('Open file descriptors', 'Open file descriptors of the exporter process and their limit.',
                   [
                     t('process_open_fds%s' % sel(), '{{instance}} open'),
                     t('process_max_fds%s' % sel(), '{{instance}} limit'),
                   ], 'short', w=8),
    ];

    g.dashboard(
      'xmail-exporter-health',
      'XMail exporter health',
      'Health of xmail_exporter itself: lines read and malformed, reading lag, time since the last event, rotations, truncations, read errors, log directories, spool count errors, delivery-delay join evictions and unmatched deliveries, process CPU, memory and file descriptors.',
      stats
      + [g.row('Log reading')] + reading
      + [g.row('Spool count and delivery-delay join')] + spool
      + [g.row('Process')] + process,
      [c.jobVariable, c.instanceVariable],
      [c.restartAnnotation],
    ),
}
