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
