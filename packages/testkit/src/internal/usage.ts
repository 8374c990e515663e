// API Gateway's usage counters as the in-memory ports share them: what a request adds, what
// `GetUsage` shows of it (late, or dropped, or reset), and which plans share a stage.
import { type Ids, UtcDay } from "@augint-billing/core"
import type { State, UsageQuota } from "../MemoryState.js"

const DEFAULT_STAGE: ReadonlySet<string> = new Set(["default"])

/** The stages a plan covers (one default stage for a plan created without any). */
export const stagesOf = (state: State, plan: Ids.UsagePlanId): ReadonlySet<string> =>
  state.planStages.get(plan) ?? DEFAULT_STAGE

/** Whether two plans cover a common stage: a key may be in only one of them. */
export const shareStage = (state: State, a: Ids.UsagePlanId, b: Ids.UsagePlanId): boolean => {
  const stages = stagesOf(state, b)
  for (const s of stagesOf(state, a)) if (stages.has(s)) return true
  return false
}

const inPeriod = (quota: UsageQuota, day: UtcDay.UtcDay, now: number): boolean => {
  const today = UtcDay.fromMillis(now)
  return quota.period === "DAY" ? day === today : day.slice(0, 7) === today.slice(0, 7)
}

// Requests of the key counted against the plan's quota in the current period.
const quotaUsed = (state: State, plan: Ids.UsagePlanId, key: Ids.ApiKeyId, quota: UsageQuota, now: number) => {
  const hidden = state.hiddenUsage.get(plan)?.get(key)
  let used = 0
  for (const [day, n] of state.usage.get(plan)?.get(key) ?? []) {
    if (inPeriod(quota, day, now)) used += n - (hidden?.get(day) ?? 0)
  }
  return used
}

/** Whether the key has used its quota in the plan: API Gateway then counts it in real time. */
export const atQuota = (state: State, plan: Ids.UsagePlanId, key: Ids.ApiKeyId, now: number): boolean => {
  const quota = state.quotas.get(plan)
  return quota !== undefined && quotaUsed(state, plan, key, quota, now) >= quota.limit
}

/**
 * Count `units` requests of a key in a plan on `day`, made at `now`. Requests past the plan's quota
 * are refused by API Gateway and not counted. Returns the units counted.
 */
export const count = (
  state: State,
  input: {
    readonly plan: Ids.UsagePlanId
    readonly key: Ids.ApiKeyId
    readonly day: UtcDay.UtcDay
    readonly units: number
    readonly now: number
  }
): number => {
  const { day, key, now, plan } = input
  const quota = state.quotas.get(plan)
  const units = quota === undefined
    ? input.units
    : Math.max(0, Math.min(input.units, quota.limit - quotaUsed(state, plan, key, quota, now)))
  if (units <= 0) return 0
  let perKey = state.usage.get(plan)
  if (perKey === undefined) state.usage.set(plan, perKey = new Map())
  let perDay = perKey.get(key)
  if (perDay === undefined) perKey.set(key, perDay = new Map())
  perDay.set(day, (perDay.get(day) ?? 0) + units)
  if (state.usageModel.delayMillis > 0) {
    let pending = state.pendingUsage.get(plan)
    if (pending === undefined) state.pendingUsage.set(plan, pending = new Map())
    const list = pending.get(key)
    if (list === undefined) pending.set(key, [{ day, units, at: now }])
    else list.push({ day, units, at: now })
  }
  return units
}

/**
 * A key was added to a plan. Under `reset`, everything it was counted in that plan before is gone
 * from `GetUsage` (its pending counts included); the truth in `usage` stays.
 */
export const added = (state: State, plan: Ids.UsagePlanId, key: Ids.ApiKeyId): void => {
  if (state.usageModel.readdedKey !== "reset") return
  const counted = state.usage.get(plan)?.get(key)
  if (counted === undefined) return
  let hidden = state.hiddenUsage.get(plan)
  if (hidden === undefined) state.hiddenUsage.set(plan, hidden = new Map())
  hidden.set(key, new Map(counted))
  state.pendingUsage.get(plan)?.delete(key)
}

/**
 * What `GetUsage` of `plan` shows for `key` on each of `days` at `now`, or undefined when it does not
 * list the key (a removed key under `dropped`).
 */
export const visible = (
  state: State,
  plan: Ids.UsagePlanId,
  key: Ids.ApiKeyId,
  days: ReadonlyArray<UtcDay.UtcDay>,
  now: number
): ReadonlyArray<number> | undefined => {
  if (state.usageModel.removedKey === "dropped" && !(state.membership.get(key)?.has(plan) ?? false)) return undefined
  const perDay = state.usage.get(plan)?.get(key)
  const hidden = state.hiddenUsage.get(plan)?.get(key)
  const late = new Map<UtcDay.UtcDay, number>()
  const pendingOfPlan = state.pendingUsage.get(plan)
  const pending = pendingOfPlan?.get(key)
  if (pending !== undefined) {
    const cutoff = now - state.usageModel.delayMillis
    const left = pending.filter((p) => p.at > cutoff)
    if (left.length === 0) pendingOfPlan!.delete(key)
    else if (left.length < pending.length) pendingOfPlan!.set(key, left)
    // A key at its quota is counted in real time (localstack/localstack#11393).
    if (left.length > 0 && !atQuota(state, plan, key, now)) {
      for (const p of left) late.set(p.day, (late.get(p.day) ?? 0) + p.units)
    }
  }
  return days.map((d) => (perDay?.get(d) ?? 0) - (hidden?.get(d) ?? 0) - (late.get(d) ?? 0))
}
