import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import t from 'tap'
import { jointUse } from '../fixtures.js'
import { buildTestApp } from '../helper.js'
import { parseExposition, type Sample } from './exposition.js'

/**
 * ops/grafana/dashboard.json and ops/prometheus/alerts.yml name metrics in PromQL; a name that
 * /metrics does not serve is a panel that stays empty or an alert that never fires. Every name
 * and every label they group or match by is checked here against a real app after traffic.
 */

const ROOT = new URL('../../', import.meta.url)
const dashboard = JSON.parse(readFileSync(new URL('ops/grafana/dashboard.json', ROOT), 'utf8')) as Dashboard
const alertsText = readFileSync(new URL('ops/prometheus/alerts.yml', ROOT), 'utf8')

interface Panel {
  id: number
  type: string
  title: string
  datasource?: { type: string; uid: string }
  targets?: { refId: string; expr: string; datasource?: { type: string; uid: string } }[]
  panels?: Panel[]
}
interface Dashboard {
  title: string
  uid: string
  panels: Panel[]
  templating: { list: { name: string; type: string; query: string }[] }
}

interface Query {
  readonly where: string
  readonly expr: string
}

function allPanels(panels: readonly Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])])
}

function dashboardQueries(): Query[] {
  return allPanels(dashboard.panels).flatMap((p) => (p.targets ?? []).map((target) => ({ where: `panel "${p.title}" ${target.refId}`, expr: target.expr })))
}

interface AlertRule {
  alert: string
  expr?: string
  for?: string
  severity?: string
  summary?: string
}

/** Enough YAML for a rules file written as ours is: one rule per `- alert:`, each `expr` on one line. */
function alertRules(): AlertRule[] {
  const rules: AlertRule[] = []
  const unquote = (value: string) => value.trim().replace(/^(["'])(.*)\1$/, '$2')
  for (const line of alertsText.split('\n')) {
    const alert = /^\s*- alert:\s*(\S+)\s*$/.exec(line)
    if (alert) {
      rules.push({ alert: alert[1]! })
      continue
    }
    const field = /^\s*(expr|for|severity|summary):\s*(.*)$/.exec(line)
    const rule = rules.at(-1)
    if (field && rule) rule[field[1] as 'expr' | 'for' | 'severity' | 'summary'] = unquote(field[2]!)
  }
  return rules
}

const CLAUSE = /\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g
const NOT_METRICS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset', 'Inf', 'NaN'])
/** Labels every scraped series has from Prometheus itself, never from /metrics. */
const TARGET_LABELS = new Set(['job', 'instance'])

/** The metric names an expression selects: identifiers that are neither functions, keywords, labels nor inside a matcher or range. */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(CLAUSE, ' ')
  const names = new Set<string>()
  for (const match of bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const name = match[0]
    const rest = bare.slice(match.index + name.length)
    if (NOT_METRICS.has(name) || /^\s*\(/.test(rest)) continue
    names.add(name)
  }
  return [...names]
}

/** The labels an expression groups or matches by, less those Prometheus adds itself. */
export function clauseLabels(expr: string): string[] {
  return [...expr.matchAll(CLAUSE)].flatMap((m) => m[2]!.split(',').map((l) => l.trim())).filter((l) => l !== '' && !TARGET_LABELS.has(l))
}

t.test('the PromQL reader finds metric names and labels', async (t) => {
  t.same(metricNames('histogram_quantile(0.99, sum by (route, le) (rate(shizenha_http_request_duration_seconds_bucket{route="/v1/x"}[$__rate_interval])))'), [
    'shizenha_http_request_duration_seconds_bucket'
  ])
  t.same(metricNames('x == 0 and on (job, instance) topk by (job) (1, y_total)'), ['x', 'y_total'])
  t.same(metricNames('(time() - max(a[2d]) > 86400) or absent_over_time(b[1d])'), ['a', 'b'])
  t.same(clauseLabels('sum by (job, reason) (rate(x[5m])) and on (instance, le) y'), ['reason', 'le'])
})

t.test('the dashboard: a Prometheus datasource variable, and the panels an operator needs', async (t) => {
  const variable = dashboard.templating.list.find((v) => v.type === 'datasource')
  t.ok(variable, 'a datasource variable')
  t.equal(variable?.query, 'prometheus')
  const panels = allPanels(dashboard.panels)
  t.equal(new Set(panels.map((p) => p.id)).size, panels.length, 'panel ids are unique')
  for (const panel of panels.filter((p) => p.type !== 'row')) {
    t.equal(panel.datasource?.uid, `\${${variable?.name}}`, `${panel.title}: the datasource is the variable`)
    t.ok((panel.targets ?? []).length > 0, `${panel.title}: has queries`)
    for (const target of panel.targets ?? []) t.ok(metricNames(target.expr).length > 0, `${panel.title} ${target.refId}: names a metric`)
  }
  const named = new Set(dashboardQueries().flatMap((q) => metricNames(q.expr)))
  for (const metric of [
    'shizenha_decisions_total',
    'shizenha_check_facts_total',
    'shizenha_http_request_duration_seconds_bucket',
    'shizenha_ledger_group_entries_bucket',
    'shizenha_ledger_queue_entries',
    'shizenha_ledger_queue_max_entries',
    'shizenha_ledger_group_commit_duration_seconds_bucket',
    'shizenha_ledger_group_heads_wait_seconds_bucket',
    'shizenha_db_pool_total_connections',
    'shizenha_db_pool_idle_connections',
    'shizenha_db_pool_waiting_clients',
    'shizenha_ledger_append_failures_total',
    'shizenha_ledger_last_verify_ok',
    'shizenha_ledger_last_verify_timestamp_seconds',
    'shizenha_ledger_last_checkpoint_timestamp_seconds'
  ]) {
    t.ok(named.has(metric), `a panel shows ${metric}`)
  }
})

t.test('the alert rules: each complete, on one line, covering what must page', async (t) => {
  const rules = alertRules()
  t.ok(rules.length >= 6)
  t.equal(new Set(rules.map((r) => r.alert)).size, rules.length, 'alert names are unique')
  for (const rule of rules) {
    t.ok(rule.expr && !/^[|>]/.test(rule.expr), `${rule.alert}: expr on one line`)
    t.match(rule.for ?? '', /^\d+[smhd]$/, `${rule.alert}: for`)
    t.match(rule.severity ?? '', /^(critical|warning)$/, `${rule.alert}: severity`)
    t.ok(rule.summary, `${rule.alert}: summary`)
  }
  const uses = (metric: string) => rules.filter((r) => metricNames(r.expr ?? '').includes(metric)).map((r) => r.alert)
  t.ok(uses('shizenha_ledger_append_failures_total').length > 0, 'append failures')
  t.ok(
    rules.some((r) => (r.expr ?? '').includes('shizenha_ledger_last_verify_ok == 0')),
    'verify failing'
  )
  t.ok(
    rules.some((r) => /shizenha_ledger_last_verify_timestamp_seconds.*> 86400/.test(r.expr ?? '')),
    'verify not run for a day'
  )
  t.ok(
    rules.some((r) => /shizenha_ledger_last_checkpoint_timestamp_seconds.*> 3600/.test(r.expr ?? '')),
    'checkpoint older than an hour'
  )
  t.ok(
    rules.some((r) => /shizenha_ledger_queue_entries \/ shizenha_ledger_queue_max_entries.*> 0\.8/.test(r.expr ?? '')),
    'queue over 80 % of its bound'
  )
  t.ok(
    rules.some((r) => /shizenha_db_pool_waiting_clients.*> 0/.test(r.expr ?? '') && r.for === '5m'),
    'pool exhausted for 5 minutes'
  )
})

t.test('every metric and label the dashboard and the alerts use is on /metrics of a real app', async (t) => {
  const test = await buildTestApp(t, {
    config: { checkpointSigningKey: randomBytes(32).toString('base64'), checkpointEveryEntries: 0, checkpointIntervalSeconds: 0 }
  })
  const sent = [
    await test.request({ method: 'POST', url: '/v1/transfers', payload: jointUse('M-DASH-1') }),
    await test.request({ method: 'POST', url: '/v1/checks', payload: jointUse('M-DASH-2') }),
    await test.request({ method: 'POST', url: '/v1/ledger/checkpoints' }),
    await test.request({ method: 'GET', url: '/v1/ledger/verify' })
  ]
  t.same(
    sent.map((r) => r.statusCode),
    [201, 200, 201, 200],
    'a transfer, a check, a checkpoint, a verify'
  )
  const res = await test.request({ method: 'GET', url: '/metrics', token: null })
  t.equal(res.statusCode, 200)
  const samples = parseExposition(res.body)
  const byName = new Map<string, Sample[]>()
  for (const s of samples) byName.set(s.name, [...(byName.get(s.name) ?? []), s])

  const queries = [...dashboardQueries(), ...alertRules().map((r) => ({ where: `alert ${r.alert}`, expr: r.expr ?? '' }))]
  let checked = 0
  for (const { where, expr } of queries) {
    const names = metricNames(expr)
    for (const name of names) {
      t.ok(byName.has(name), `${where}: ${name} is on /metrics`)
      checked += 1
    }
    const labels = new Set(names.flatMap((name) => (byName.get(name) ?? []).flatMap((s) => Object.keys(s.labels))))
    for (const label of clauseLabels(expr)) t.ok(labels.has(label), `${where}: label ${label} is on ${names.join(', ')}`)
  }
  t.ok(checked > 30, `${checked} metric references checked`)
})
