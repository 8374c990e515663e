/**
 * Thin events as event destinations send them (`object: "v2.core.event"`, no `data`), with the full
 * event kept in the in-memory Stripe for `retrieveEvent`: Stripe's meter error reports
 * (docs.stripe.com/api/v2/core/events/event-types, `v1.billing.meter.error_report_triggered`).
 *
 * @since 0.2.0
 */
import { Effect } from "effect"
import * as Driver from "./Driver.js"

/** One rejected meter event of a report: its identifier and Stripe's error code. @since 0.2.0 @category models */
export interface Rejected {
  readonly identifier: string
  /** An `error_types[].code`, e.g. `meter_event_customer_not_found`. */
  readonly code: string
}

let sequence = 0

/**
 * A meter error report: the full event is stored for `retrieveEvent`, the thin notification returned
 * (what the webhook receives). `created` is epoch seconds (v2 events carry it as an ISO string).
 *
 * @since 0.2.0
 * @category utils
 */
export const meterErrorReport = (input: {
  readonly rejected: ReadonlyArray<Rejected>
  readonly created: number
  readonly type?: "v1.billing.meter.error_report_triggered" | "v1.billing.meter.no_meter_found"
  readonly id?: string
  readonly livemode?: boolean
}): Effect.Effect<Record<string, unknown>, never, Driver.Driver> =>
  Effect.map(Driver.Driver, ({ state }) => {
    const id = input.id ?? `evt_test_meter_error_${(++sequence).toString(36)}`
    const type = input.type ?? "v1.billing.meter.error_report_triggered"
    const created = new Date(input.created * 1000).toISOString()
    const notification = {
      id,
      object: "v2.core.event",
      type,
      created,
      livemode: input.livemode ?? false,
      context: null,
      reason: null,
      related_object: { id: "mtr_testkit", type: "billing.meter", url: "/v1/billing/meters/mtr_testkit" }
    }
    const codes = [...new Set(input.rejected.map((r) => r.code))]
    state.v2Events.set(id, {
      ...notification,
      data: {
        developer_message_summary: `${input.rejected.length} meter events were rejected`,
        validation_start: new Date((input.created - 3600) * 1000).toISOString(),
        validation_end: created,
        reason: {
          error_count: input.rejected.length,
          error_types: codes.map((code) => {
            const ofCode = input.rejected.filter((r) => r.code === code)
            return {
              code,
              error_count: ofCode.length,
              sample_errors: ofCode.map((r) => ({
                error_message: `meter event rejected: ${code}`,
                request: { identifier: r.identifier }
              }))
            }
          })
        }
      }
    })
    return notification
  })

/**
 * The meter error report Stripe sends after validating what its v2 stream took: every rejection the
 * in-memory stream has not reported yet (`MemoryState.streamRejections`), then cleared. None: no report.
 *
 * @since 0.4.0
 * @category utils
 */
export const streamErrorReport = (input: { readonly created: number }) =>
  Effect.flatMap(Driver.Driver, ({ state }) => {
    const rejected = state.streamRejections.splice(0)
    return rejected.length === 0
      ? Effect.succeed(undefined)
      : meterErrorReport({ rejected, created: input.created })
  })
