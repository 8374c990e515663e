import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Either } from "effect"
import * as CustomerSettings from "../src/CustomerSettings.js"

const load = (entries: ReadonlyArray<readonly [string, string]>) =>
  CustomerSettings.load.pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map(entries))))

describe("CustomerSettings.load", () => {
  it.effect("uses the defaults when nothing is set", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* load([]), CustomerSettings.defaults)
    }))

  it.effect("reads the quota, the card link and the alert defaults", () =>
    Effect.gen(function*() {
      const settings = yield* load([
        ["FREE_QUOTA_LIMIT", "500"],
        ["FREE_QUOTA_PERIOD", "DAY"],
        ["CARD_LINK_SUCCESS_URL", "https://seller.example/ok"],
        ["CARD_LINK_CANCEL_URL", "http://localhost:3000/account"],
        ["CARD_LINK_CURRENCY", "eur"],
        ["SPEND_ALERT_UNITS", "100000"],
        ["SPEND_ALERT_PERCENTS", "100, 25,75,25"]
      ])
      assert.deepStrictEqual(settings, {
        freeQuota: { limit: 500, period: "DAY" },
        cardLinkSuccessUrl: "https://seller.example/ok",
        cardLinkCancelUrl: "http://localhost:3000/account",
        cardLinkCurrency: "eur",
        alertUnits: 100_000,
        alertPercents: [25, 75, 100]
      })
      assert.isUndefined((yield* load([["FREE_QUOTA_LIMIT", "0"]])).freeQuota)
      assert.isUndefined((yield* load([["SPEND_ALERT_UNITS", "0"]])).alertUnits)
      // The template passes an unused URL parameter as "".
      assert.isUndefined((yield* load([["CARD_LINK_SUCCESS_URL", ""]])).cardLinkSuccessUrl)
    }))

  // The metered price is a flat per-unit price (Stripe's `unit_amount_decimal`, up to 12 decimals of
  // the minor unit: docs.stripe.com/api/prices/object): 6 decimals of the major unit cover 0.0001 cent.
  it.effect("a limit in money: SPEND_ALERT_AMOUNT buys its units at UNIT_PRICE; mismatched or missing prices are refused", () =>
    Effect.gen(function*() {
      const settings = yield* load([["UNIT_PRICE", "0.002 USD"], ["SPEND_ALERT_AMOUNT", "50 usd"]])
      assert.deepStrictEqual(settings.unitPrice, { micros: 2_000, currency: "usd" })
      assert.deepStrictEqual(settings.alertAmount, { micros: 50_000_000, currency: "usd" })
      assert.strictEqual(CustomerSettings.defaultAlertUnits(settings), 25_000)
      // A limit in units wins over one in money.
      const both = yield* load([["UNIT_PRICE", "0.002 usd"], ["SPEND_ALERT_AMOUNT", "50 usd"], [
        "SPEND_ALERT_UNITS",
        "7"
      ]])
      assert.strictEqual(CustomerSettings.defaultAlertUnits(both), 7)
      assert.strictEqual(CustomerSettings.defaultAlertUnits(yield* load([["UNIT_PRICE", "0.002 usd"]])), undefined)
      for (
        const [entries, variable] of [
          [[["SPEND_ALERT_AMOUNT", "50 usd"]], "SPEND_ALERT_AMOUNT"],
          [[["UNIT_PRICE", "0.002 eur"], ["SPEND_ALERT_AMOUNT", "50 usd"]], "SPEND_ALERT_AMOUNT"],
          [[["UNIT_PRICE", "0 usd"]], "UNIT_PRICE"],
          [[["UNIT_PRICE", "0.0000001 usd"]], "UNIT_PRICE"],
          [[["UNIT_PRICE", "two usd"]], "UNIT_PRICE"]
        ] as const
      ) {
        const result = yield* Effect.either(load(entries))
        assert.isTrue(Either.isLeft(result) && result.left.message.includes(variable), JSON.stringify(entries))
      }
    }))

  it.effect("a malformed value fails with one line naming the variable", () =>
    Effect.gen(function*() {
      for (
        const [name, value] of [
          ["CARD_LINK_SUCCESS_URL", "http://seller.example/ok"],
          ["CARD_LINK_CURRENCY", "USD"],
          ["SPEND_ALERT_UNITS", "-1"],
          ["SPEND_ALERT_PERCENTS", "50,eighty"],
          ["FREE_QUOTA_PERIOD", "WEEK"]
        ] as const
      ) {
        const error = yield* Effect.flip(load([[name, value]]))
        assert.include(error.message, name)
      }
    }))

  it("parsePercents refuses empty lists and percentages out of range", () => {
    assert.isTrue(Either.isLeft(CustomerSettings.parsePercents("")))
    assert.isTrue(Either.isLeft(CustomerSettings.parsePercents("0,50")))
    assert.isTrue(Either.isLeft(CustomerSettings.parsePercents("50.5")))
    assert.deepStrictEqual(CustomerSettings.parsePercents("80,50"), Either.right([50, 80]))
  })
})
