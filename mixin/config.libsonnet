// The one place for the scrape selector, thresholds and the runbook links: every generated
// alert, recording rule and dashboard query reads these.
{
  _config+:: {
    // Selects this exporter's series (the scrape job). Every generated query uses it.
    selector: 'job="xmail"',
    // Dashboard variables: the label that names the scrape job and the one that names a host.
    jobLabel: 'job',
    instanceLabel: 'instance',
  },
}
