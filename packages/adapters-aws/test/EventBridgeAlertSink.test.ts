// The AlertSink on EventBridge: PutEvents against moto, and the per-entry failures PutEvents answers with 200.
import { Ids, SpendAlerts } from "@augint-billing/core"
import type { EventBridgeClient } from "@aws-sdk/client-eventbridge"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { EventBridgeAlertSink } from "../src/index.js"
import { moto } from "./support/Servers.js"

const alert = (percent: number): SpendAlerts.SpendAlert => ({
  id: SpendAlerts.alertId(Ids.CustomerId.make("cus_eb1"), "2026-03", percent),
  customerId: Ids.CustomerId.make("cus_eb1"),
  apiKeyId: Ids.ApiKeyId.make("keyEb1"),
  period: "2026-03",
  percent,
  limitUnits: 1000,
  unitsUsed: 1000,
  at: 0
})

// A client that records each PutEvents call and answers with `failed` failed entries.
const recording = (failed = 0) => {
  const calls: Array<ReadonlyArray<{ Detail?: string; Source?: string; DetailType?: string }>> = []
  const client = {
    send: (command: { input: { Entries: ReadonlyArray<{ Detail?: string }> } }) => {
      calls.push(command.input.Entries)
      return Promise.resolve({
        FailedEntryCount: failed,
        Entries: command.input.Entries.map((_, i) =>
          i < failed ? { ErrorCode: "InternalFailure" } : { EventId: `e${i}` }
        )
      })
    }
  } as unknown as EventBridgeClient
  return { calls, client }
}

describe("EventBridgeAlertSink", () => {
  it.effect("puts each alert on the bus with source, detail-type and the alert as detail (moto)", () =>
    Effect.gen(function*() {
      const sink = yield* SpendAlerts.AlertSink
      yield* sink.emit([alert(50), alert(80)])
    }).pipe(Effect.provide(EventBridgeAlertSink.layer({ eventBusName: "default", client: moto }))))

  it.effect("a bus that does not exist is an error, not a silent drop (moto)", () =>
    Effect.gen(function*() {
      const sink = yield* SpendAlerts.AlertSink
      const error = yield* Effect.flip(sink.emit([alert(50)]))
      assert.strictEqual(error._tag, "AlertSinkError")
    }).pipe(Effect.provide(EventBridgeAlertSink.layer({ eventBusName: "no-such-bus-eb", client: moto }))))

  it.effect("at most 10 entries a call; each entry carries the encoded alert", () =>
    Effect.gen(function*() {
      const { calls, client } = recording()
      const alerts = Array.from({ length: 23 }, (_, i) => alert(i + 1))
      yield* EventBridgeAlertSink.make(client, "bus").emit(alerts)
      assert.deepStrictEqual(calls.map((c) => c.length), [10, 10, 3])
      const first = calls[0]![0]!
      assert.strictEqual(first.Source, EventBridgeAlertSink.SOURCE)
      assert.strictEqual(first.DetailType, EventBridgeAlertSink.DETAIL_TYPE)
      assert.deepStrictEqual(JSON.parse(first.Detail!), alerts[0])
    }))

  it.effect("PutEvents answering 200 with failed entries is a transient failure, so the alerts are resent", () =>
    Effect.gen(function*() {
      const { client } = recording(1)
      const error = yield* Effect.flip(EventBridgeAlertSink.make(client, "bus").emit([alert(50), alert(80)]))
      assert.strictEqual(error.reason, "Server")
      assert.isTrue(error.isTransient)
      assert.include(error.message, "1 of 2 entries failed (InternalFailure)")
    }))
})
