// The xmail_exporter monitoring mixin: config, alerts, recording rules and dashboards.
// scripts/mixin.sh renders it into deploy/prometheus/*.yml and dashboards/*.json.
(import 'config.libsonnet')
+ (import 'alerts/alerts.libsonnet')
+ (import 'rules/rules.libsonnet')
+ (import 'dashboards/dashboards.libsonnet')
