// The Grafana dashboards of the mixin. scripts/mixin.sh writes each key into dashboards/.
{
  grafanaDashboards+:: {
    'xmail-overview.json': (import 'overview.libsonnet').new($._config),
    'xmail-exporter-health.json': (import 'health.libsonnet').new($._config),
  },
}
