// Small helpers for the dashboards (no grafonnet): panels, targets, variables and a layout
// function that assigns gridPos and ids, so the dashboards read as lists of panels.
{
  // Every panel and query names its data source through the `datasource` variable only
  // (file provisioning and other Grafanas break on a fixed uid).
  ds:: { type: 'prometheus', uid: '${datasource}' },

  // Counts per hour: there is no built-in Grafana unit for it.
  perHour:: 'suffix:/h',

  // `a="b", c=~"d"` -> [{label, op, value}], for the structured fields of the variable editor.
  parseSelector(sel)::
    local trim(s) = std.stripChars(s, ' ');
    local parts = [trim(p) for p in std.split(sel, ',') if trim(p) != ''];
    local ops = ['=~', '!~', '!=', '='];
    local one(p) =
      local op = [o for o in ops if std.length(std.findSubstr(o, p)) > 0][0];
      local i = std.findSubstr(op, p)[0];
      {
        label: trim(std.substr(p, 0, i)),
        op: op,
        value: std.stripChars(trim(std.substr(p, i + std.length(op), std.length(p))), '"'),
      };
    [one(p) for p in parts],

  // --- Queries ------------------------------------------------------------------------------

  // A range query (time series) or an instant one (stats, tables, bar gauges).
  target(expr, legend='', instant=false, format=null):: {
    datasource: $.ds,
    editorMode: 'code',
    expr: expr,
    legendFormat: legend,
  } + (if instant then { instant: true, range: false } else { range: true })
  + (if format != null then { format: format } else {}),

  local refIds = ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J'],
  withRefIds(targets):: [targets[i] { refId: refIds[i] } for i in std.range(0, std.length(targets) - 1)],

  // --- Panels ---------------------------------------------------------------------------------

  local base(type, title, description, targets, w, h) = {
    datasource: $.ds,
    description: description,
    gridPos: { w: w, h: h },
    targets: $.withRefIds(targets),
    title: title,
    type: type,
  },

  steps(first, rest=[]):: {
    mode: 'absolute',
    steps: [{ color: first, value: null }] + [{ color: s[1], value: s[0] } for s in rest],
  },

  stat(title, description, targets, unit='short', decimals=0, w=4, h=4, color='blue',
       thresholds=null, mappings=[], graphMode='none'):: base('stat', title, description, targets, w, h) {
    fieldConfig: {
      defaults: {
        color: { mode: 'thresholds' },
        mappings: mappings,
        thresholds: if thresholds != null then thresholds else $.steps(color),
        unit: unit,
      } + (if decimals != null then { decimals: decimals } else {}),
      overrides: [],
    },
    options: {
      colorMode: 'value',
      graphMode: graphMode,
      justifyMode: 'auto',
      orientation: 'auto',
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
      showPercentChange: false,
      textMode: 'auto',
      wideLayout: true,
    },
  },

  legendTable(calcs=['mean', 'max'], sortBy='Max'):: {
    legend: {
      calcs: calcs,
      displayMode: 'table',
      placement: 'bottom',
      showLegend: true,
      sortBy: sortBy,
      sortDesc: true,
    },
    tooltip: { mode: 'multi', sort: 'desc' },
  },

  // A time series panel. `interval` is the panel's minimum interval (per-hour panels use 5m,
  // so a small server's traffic is not a row of 1-minute spikes); `log` a log10 y axis.
  timeseries(title, description, targets, unit, w=12, h=8, stack=false, bars=false, min=0,
             interval=null, log=false, overrides=[], calcs=['mean', 'max'], decimals=null)::
    base('timeseries', title, description, targets, w, h) {
      fieldConfig: {
        defaults: {
          color: { mode: 'palette-classic' },
          custom: {
            axisBorderShow: false,
            axisCenteredZero: false,
            axisColorMode: 'text',
            axisLabel: '',
            axisPlacement: 'auto',
            barAlignment: 0,
            drawStyle: if bars then 'bars' else 'line',
            fillOpacity: if bars then 80 else if stack then 25 else 10,
            gradientMode: 'none',
            hideFrom: { legend: false, tooltip: false, viz: false },
            insertNulls: false,
            lineInterpolation: 'linear',
            lineWidth: 1,
            pointSize: 4,
            scaleDistribution: if log then { type: 'log', log: 10 } else { type: 'linear' },
            showPoints: 'never',
            spanNulls: false,
            stacking: { group: 'A', mode: if stack || bars then 'normal' else 'none' },
            thresholdsStyle: { mode: 'off' },
          },
          mappings: [],
          thresholds: $.steps('green'),
          unit: unit,
        } + (if min != null && !log then { min: min } else {})
        + (if decimals != null then { decimals: decimals } else {}),
        overrides: overrides,
      },
      options: $.legendTable(calcs, if calcs[std.length(calcs) - 1] == 'max' then 'Max' else 'Last *'),
    } + (if interval != null then { interval: interval } else {}),

  heatmap(title, description, target, unit, yUnit, w=12, h=9, interval=null)::
    base('heatmap', title, description, [target { format: 'heatmap' }], w, h) {
      fieldConfig: {
        defaults: {
          custom: {
            hideFrom: { legend: false, tooltip: false, viz: false },
            scaleDistribution: { type: 'linear' },
          },
          unit: unit,
        },
        overrides: [],
      },
      options: {
        calculate: false,
        cellGap: 1,
        cellValues: { unit: unit },
        color: {
          exponent: 0.5,
          fill: 'dark-orange',
          mode: 'scheme',
          reverse: false,
          scale: 'exponential',
          scheme: 'Oranges',
          steps: 64,
        },
        exemplars: { color: 'rgba(255,0,255,0.7)' },
        filterValues: { le: 1e-09 },
        legend: { show: true },
        rowsFrame: { layout: 'auto' },
        tooltip: { mode: 'single', showColorScale: false, yHistogram: true },
        yAxis: { axisPlacement: 'left', reverse: false, unit: yUnit },
      },
    } + (if interval != null then { interval: interval } else {}),

  bargauge(title, description, targets, unit='short', w=8, h=10, overrides=[])::
    base('bargauge', title, description, targets, w, h) {
      fieldConfig: {
        defaults: {
          color: { mode: 'continuous-YlRd' },
          mappings: [],
          min: 0,
          thresholds: $.steps('green'),
          unit: unit,
          decimals: 0,
        },
        overrides: overrides,
      },
      options: {
        displayMode: 'gradient',
        maxVizHeight: 300,
        minVizHeight: 16,
        minVizWidth: 8,
        namePlacement: 'auto',
        orientation: 'horizontal',
        reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
        showUnfilled: true,
        sizing: 'auto',
        valueMode: 'color',
      },
    },

  // A table of instant queries joined on their labels (`merge`), one row per label set.
  table(title, description, targets, unit, w=24, h=8, overrides=[], organize={})::
    base('table', title, description, [t { format: 'table' } for t in targets], w, h) {
      fieldConfig: {
        defaults: {
          color: { mode: 'thresholds' },
          custom: {
            align: 'auto',
            cellOptions: { type: 'auto' },
            filterable: false,
            inspect: false,
          },
          mappings: [],
          thresholds: $.steps('green'),
          unit: unit,
        },
        overrides: overrides,
      },
      options: {
        cellHeight: 'sm',
        footer: { countRows: false, fields: '', reducer: ['sum'], show: false },
        showHeader: true,
        sortBy: [{ desc: false, displayName: 'instance' }],
      },
      transformations: [
        { id: 'merge', options: {} },
        { id: 'organize', options: { excludeByName: {}, indexByName: {}, renameByName: {} } + organize },
      ],
    },

  // Field overrides by field name: override(name, {unit: 's', ...}) -> properties.
  override(name, props):: {
    matcher: { id: 'byName', options: name },
    properties: [{ id: k, value: props[k] } for k in std.objectFields(props)],
  },

  displayNames(titles):: [$.override(k, { displayName: titles[k] }) for k in std.objectFields(titles)],

  row(title, collapsed=false, panels=[]):: {
    collapsed: collapsed,
    gridPos: { w: 24, h: 1 },
    panels: panels,
    title: title,
    type: 'row',
  },

  // --- Layout ---------------------------------------------------------------------------------

  // Places panels left to right, wrapping at 24 columns; a row starts a new line. A collapsed
  // row's panels are laid out below it (Grafana keeps them there while the row is closed), so
  // a collapsed row must come last. Then numbers every panel (rows and nested panels too).
  layout(panels)::
    local place(state, p) =
      local lineEnd = state.y + state.lineH;
      if p.type == 'row' then
        local y = if state.x > 0 then lineEnd else state.y;
        local nested = $.layout0(p.panels, y + 1);
        {
          x: 0,
          y: y + 1,
          lineH: 0,
          out: state.out + [p { gridPos: { x: 0, y: y, w: 24, h: 1 }, panels: nested }],
        }
      else
        local wrap = state.x + p.gridPos.w > 24;
        local x = if wrap then 0 else state.x;
        local y = if wrap then lineEnd else state.y;
        {
          x: x + p.gridPos.w,
          y: y,
          lineH: if wrap then p.gridPos.h else std.max(state.lineH, p.gridPos.h),
          out: state.out + [p { gridPos: { x: x, y: y, w: p.gridPos.w, h: p.gridPos.h } }],
        };
    local placed = std.foldl(place, panels, { x: 0, y: 0, lineH: 0, out: [] }).out;
    $.numbered(placed),

  // Layout of the panels of a collapsed row, starting at line y (no ids yet).
  layout0(panels, y0)::
    local place(state, p) =
      local wrap = state.x + p.gridPos.w > 24;
      local x = if wrap then 0 else state.x;
      local y = if wrap then state.y + state.lineH else state.y;
      {
        x: x + p.gridPos.w,
        y: y,
        lineH: if wrap then p.gridPos.h else std.max(state.lineH, p.gridPos.h),
        out: state.out + [p { gridPos: { x: x, y: y, w: p.gridPos.w, h: p.gridPos.h } }],
      };
    std.foldl(place, panels, { x: 0, y: y0, lineH: 0, out: [] }).out,

  numbered(panels)::
    local count(p) = 1 + (if p.type == 'row' then std.length(p.panels) else 0);
    local starts = std.foldl(function(acc, p) acc + [acc[std.length(acc) - 1] + count(p)], panels, [1]);
    [
      local p = panels[i];
      local id = starts[i];
      p { id: id }
      + (if p.type == 'row' then {
           panels: [p.panels[j] { id: id + 1 + j } for j in std.range(0, std.length(p.panels) - 1)],
         } else {})
      for i in std.range(0, std.length(panels) - 1)
    ],

  // --- Variables and dashboard ----------------------------------------------------------------

  datasourceVariable:: {
    current: {},
    description: 'Prometheus data source holding the xmail_exporter metrics.',
    hide: 0,
    includeAll: false,
    label: 'Data source',
    multi: false,
    name: 'datasource',
    options: [],
    query: 'prometheus',
    refresh: 1,
    regex: '',
    skipUrlSync: false,
    type: 'datasource',
  },

  // label_values(metric{selector}, label), with the structured fields Grafana's variable
  // editor reads filled in to agree with the query string.
  labelValuesVariable(name, label, metric, selector, description, multi=false, title=null)::
    local q = 'label_values(%s%s, %s)' % [metric, if selector == '' then '' else '{' + selector + '}', label];
    {
      current: {},
      datasource: $.ds,
      definition: q,
      description: description,
      hide: 0,
      includeAll: multi,
      label: if title != null then title else std.asciiUpper(name[0]) + std.substr(name, 1, std.length(name)),
      multi: multi,
      name: name,
      options: [],
      query: {
        label: label,
        metric: metric,
        qryType: 1,
        query: q,
        refId: 'PrometheusVariableQueryEditor-VariableQuery',
      } + (if selector == '' then {} else { labelFilters: $.parseSelector(selector) }),
      refresh: 2,
      regex: '',
      skipUrlSync: false,
      sort: 1,
      type: 'query',
    } + (if multi then { allValue: '.+' } else {}),

  // A custom variable: a fixed list of values, `current` the selected one.
  customVariable(name, values, current, description, title=null)::
    assert std.member(values, current) : 'variable %s: default %s is not one of %s' % [name, current, std.join(',', values)];
    {
      current: { selected: true, text: current, value: current },
      description: description,
      hide: 0,
      includeAll: false,
      label: if title != null then title else name,
      multi: false,
      name: name,
      options: [{ selected: v == current, text: v, value: v } for v in values],
      query: std.join(',', values),
      queryValue: '',
      skipUrlSync: false,
      type: 'custom',
    },

  dashboard(uid, title, description, panels, variables, annotations=[]):: {
    __requires: [
      { type: 'grafana', id: 'grafana', name: 'Grafana', version: '10.4.0' },
      { type: 'datasource', id: 'prometheus', name: 'Prometheus', version: '1.0.0' },
    ] + [
      { type: 'panel', id: t, name: { bargauge: 'Bar gauge', heatmap: 'Heatmap', stat: 'Stat', table: 'Table', timeseries: 'Time series' }[t], version: '' }
      for t in std.set([p.type for p in panels if p.type != 'row'] + std.flattenArrays([[q.type for q in p.panels] for p in panels if p.type == 'row']))
    ],
    annotations: {
      list: [{
        builtIn: 1,
        datasource: { type: 'grafana', uid: '-- Grafana --' },
        enable: true,
        hide: true,
        iconColor: 'rgba(0, 211, 255, 1)',
        name: 'Annotations & Alerts',
        type: 'dashboard',
      }] + annotations,
    },
    description: description,
    editable: true,
    fiscalYearStartMonth: 0,
    graphTooltip: 1,
    id: null,
    links: [{
      asDropdown: false,
      icon: 'external link',
      includeVars: true,
      keepTime: true,
      tags: ['xmail'],
      targetBlank: false,
      title: 'XMail dashboards',
      tooltip: '',
      type: 'dashboards',
      url: '',
    }],
    panels: $.layout(panels),
    refresh: '1m',
    schemaVersion: 39,
    tags: ['xmail', 'mail', 'xmail_exporter'],
    templating: { list: [$.datasourceVariable] + variables },
    time: { from: 'now-6h', to: 'now' },
    timepicker: {},
    timezone: '',
    title: title,
    uid: uid,
    version: 1,
    weekStart: '',
  },

  annotation(name, expr, title, color, tagKeys='instance', step='1m'):: {
    datasource: $.ds,
    enable: true,
    expr: expr,
    iconColor: color,
    name: name,
    step: step,
    tagKeys: tagKeys,
    textFormat: '',
    titleFormat: title,
    useValueForTime: false,
  },
}
