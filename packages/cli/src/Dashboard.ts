/**
 * `monitor dashboard`: customers by plan, the last sync and its lag, pending reports, the last run's
 * failures, and the units reported today and this month (from the customers' ledgers).
 *
 * @since 0.1.0
 */
import { Customer, CustomerRepo, Ids, UsageSync, UtcDay } from "@augint-billing/core"
import { Clock, Effect, Schema, Stream } from "effect"
import { CliMode } from "./Environment.js"
import { table } from "./Output.js"

/** The dashboard's content. @since 0.1.0 @category models */
export const Dashboard = Schema.Struct({
  mode: Schema.Literal("local", "aws"),
  generatedAt: Schema.Int,
  today: UtcDay.UtcDay,
  customers: Schema.Struct({
    total: Schema.Int,
    free: Schema.Int,
    metered: Schema.Int,
    settling: Schema.Int
  }),
  lastSync: Schema.NullOr(Schema.Struct({
    finishedAt: Schema.Int,
    lagSeconds: Schema.Int,
    report: UsageSync.SyncReport
  })),
  pendingReports: Schema.Array(Schema.Struct({
    customerId: Ids.CustomerId,
    day: UtcDay.UtcDay,
    value: Schema.Int,
    identifier: Schema.String
  })),
  unitsReportedToday: Schema.Int,
  unitsReportedThisMonth: Schema.Int
})
/** The dashboard's content. @since 0.1.0 @category models */
export type Dashboard = typeof Dashboard.Type

/** Gather the dashboard. @since 0.1.0 @category flows */
export const gather = Effect.gen(function*() {
  const repo = yield* CustomerRepo.CustomerRepo
  const mode = yield* CliMode
  const now = yield* Clock.currentTimeMillis
  const today = UtcDay.fromMillis(now)
  const month = today.slice(0, 7)
  const customers = { total: 0, free: 0, metered: 0, settling: 0 }
  const pendingReports: Array<Dashboard["pendingReports"][number]> = []
  let unitsReportedToday = 0
  let unitsReportedThisMonth = 0
  yield* Stream.runForEach(repo.list(), (c) =>
    Effect.sync(() => {
      customers.total++
      if (c.plan === "METERED") customers.metered++
      else customers.free++
      if (c.settleUntil !== undefined) customers.settling++
      if (c.pending !== undefined) {
        pendingReports.push({
          customerId: c.customerId,
          day: c.pending.day,
          value: c.pending.value,
          identifier: c.pending.identifier
        })
      }
      unitsReportedToday += Customer.reported(c, today)
      for (const [day, units] of Object.entries(c.ledger)) if (day.startsWith(month)) unitsReportedThisMonth += units
    }))
  const last = mode._tag === "Local" ? mode.local.lastSync : undefined
  const dashboard: Dashboard = {
    mode: mode._tag === "Local" ? "local" : "aws",
    generatedAt: now,
    today,
    customers,
    lastSync: last === undefined ? null : {
      finishedAt: last.finishedAt,
      lagSeconds: Math.max(0, Math.round((now - last.finishedAt) / 1000)),
      report: last
    },
    pendingReports,
    unitsReportedToday,
    unitsReportedThisMonth
  }
  return dashboard
})

const iso = (millis: number) => new Date(millis).toISOString()

/** The dashboard as text. @since 0.1.0 @category utils */
export const format = (d: Dashboard): string => {
  const lines = [
    `customers     ${d.customers.total} (free ${d.customers.free}, metered ${d.customers.metered}, settling ${d.customers.settling})`,
    d.lastSync === null
      ? `last sync     none recorded${d.mode === "aws" ? " by this CLI (the hourly Lambda logs its own runs)" : ""}`
      : `last sync     ${
        iso(d.lastSync.finishedAt)
      } (${d.lastSync.lagSeconds} s ago): ${d.lastSync.report.customersSeen} seen, ${d.lastSync.report.customersReported} reported, ${d.lastSync.report.customersFailed} failed, ${d.lastSync.report.unitsReported} units`,
    `units today   ${d.unitsReportedToday} (${d.today})`,
    `units month   ${d.unitsReportedThisMonth} (${d.today.slice(0, 7)})`,
    `pending       ${d.pendingReports.length}`
  ]
  if (d.pendingReports.length > 0) {
    lines.push(
      "",
      table(
        ["customer", "day", "units", "identifier"],
        d.pendingReports.map((p) => [p.customerId, p.day, String(p.value), p.identifier])
      )
    )
  }
  const failures = d.lastSync?.report.failures ?? []
  if (failures.length > 0) {
    lines.push(
      "",
      "failures of the last sync:",
      table(["customer", "reason"], failures.map((f) => [f.customerId, f.reason]))
    )
  }
  return lines.join("\n")
}
