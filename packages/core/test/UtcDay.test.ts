import { assert, describe, it } from "@effect/vitest"
import { Either, FastCheck, Schema } from "effect"
import * as UtcDay from "../src/UtcDay.js"

const day = (s: string): UtcDay.UtcDay => Schema.decodeSync(UtcDay.UtcDay)(s)
const decode = Schema.decodeUnknownEither(UtcDay.UtcDay)
// Days as plain text, to compare with literal lists.
const text = (days: ReadonlyArray<UtcDay.UtcDay>): ReadonlyArray<string> => days
const DAY_MS = 86_400_000

// Instants from 1970 to 2200: the range a billing system can meet, with four-digit years.
const instant = FastCheck.integer({ min: 0, max: Date.UTC(2200, 0, 1) - 1 })

describe("UtcDay", () => {
  describe("schema", () => {
    it("accepts real calendar days", () => {
      for (const s of ["2026-01-01", "2026-12-31", "2028-02-29", "2000-02-29", "1970-01-01"]) {
        assert.strictEqual(Either.getOrThrow(decode(s)), s)
      }
    })

    it("refuses days that do not exist", () => {
      for (
        const s of ["2026-02-30", "2026-02-29", "2100-02-29", "2026-04-31", "2026-13-01", "2026-00-10", "2026-01-00"]
      ) {
        const result = decode(s)
        assert.isTrue(Either.isLeft(result), s)
        if (Either.isLeft(result)) assert.include(result.left.message, "not a calendar day", s)
      }
    })

    it("refuses text that is not YYYY-MM-DD", () => {
      for (const input of ["2026-1-01", "26-01-01", "2026/01/01", "2026-01-01T00:00:00Z", " 2026-01-01", "", "today"]) {
        const result = decode(input)
        assert.isTrue(Either.isLeft(result), input)
        if (Either.isLeft(result)) assert.include(result.left.message, "YYYY-MM-DD", input)
      }
      for (const input of [20260101, null, undefined, {}]) {
        assert.isTrue(Either.isLeft(decode(input)))
      }
    })
  })

  describe("fromMillis", () => {
    it("is the UTC day of an instant, whatever the local time zone", () => {
      assert.strictEqual(UtcDay.fromMillis(Date.UTC(2026, 2, 15, 12, 30)), "2026-03-15")
      assert.strictEqual(UtcDay.fromMillis(Date.UTC(2026, 2, 15, 0, 0, 0, 0)), "2026-03-15")
      assert.strictEqual(UtcDay.fromMillis(Date.UTC(2026, 2, 15, 23, 59, 59, 999)), "2026-03-15")
      assert.strictEqual(UtcDay.fromMillis(Date.UTC(2026, 2, 16)), "2026-03-16")
      assert.strictEqual(UtcDay.fromMillis(0), "1970-01-01")
    })

    it("crosses month and year boundaries at UTC midnight", () => {
      assert.strictEqual(UtcDay.fromMillis(Date.UTC(2026, 0, 31, 23, 59, 59, 999)), "2026-01-31")
      assert.strictEqual(UtcDay.fromMillis(Date.UTC(2026, 1, 1)), "2026-02-01")
      assert.strictEqual(UtcDay.fromMillis(Date.UTC(2026, 11, 31, 23, 59, 59, 999)), "2026-12-31")
      assert.strictEqual(UtcDay.fromMillis(Date.UTC(2027, 0, 1)), "2027-01-01")
    })

    it("knows the leap day", () => {
      assert.strictEqual(UtcDay.fromMillis(Date.UTC(2028, 1, 29, 6)), "2028-02-29")
      assert.strictEqual(UtcDay.fromMillis(Date.UTC(2027, 1, 28, 23, 59, 59, 999) + 1), "2027-03-01")
    })
  })

  describe("startMillis / endMillis", () => {
    it("are the first and last millisecond of the day", () => {
      const d = day("2026-03-15")
      assert.strictEqual(UtcDay.startMillis(d), Date.UTC(2026, 2, 15))
      assert.strictEqual(UtcDay.endMillis(d), Date.UTC(2026, 2, 16) - 1)
      assert.strictEqual(UtcDay.endMillis(d) - UtcDay.startMillis(d), DAY_MS - 1)
    })

    it("hold on the leap day and at the end of a year", () => {
      assert.strictEqual(UtcDay.startMillis(day("2028-02-29")), Date.UTC(2028, 1, 29))
      assert.strictEqual(UtcDay.endMillis(day("2028-02-29")), Date.UTC(2028, 2, 1) - 1)
      assert.strictEqual(UtcDay.endMillis(day("2026-12-31")) + 1, UtcDay.startMillis(day("2027-01-01")))
    })

    it("round-trip through fromMillis", () => {
      const d = day("2028-02-29")
      assert.strictEqual(UtcDay.fromMillis(UtcDay.startMillis(d)), d)
      assert.strictEqual(UtcDay.fromMillis(UtcDay.endMillis(d)), d)
      assert.strictEqual(UtcDay.fromMillis(UtcDay.endMillis(d) + 1), "2028-03-01")
      assert.strictEqual(UtcDay.fromMillis(UtcDay.startMillis(d) - 1), "2028-02-28")
    })
  })

  describe("add", () => {
    it("moves forward and back across months, years and the leap day", () => {
      assert.strictEqual(UtcDay.add(day("2026-03-15"), 0), "2026-03-15")
      assert.strictEqual(UtcDay.add(day("2026-03-15"), 1), "2026-03-16")
      assert.strictEqual(UtcDay.add(day("2026-01-31"), 1), "2026-02-01")
      assert.strictEqual(UtcDay.add(day("2026-03-01"), -1), "2026-02-28")
      assert.strictEqual(UtcDay.add(day("2028-03-01"), -1), "2028-02-29")
      assert.strictEqual(UtcDay.add(day("2028-02-28"), 1), "2028-02-29")
      assert.strictEqual(UtcDay.add(day("2028-02-29"), 1), "2028-03-01")
      assert.strictEqual(UtcDay.add(day("2026-12-31"), 1), "2027-01-01")
      assert.strictEqual(UtcDay.add(day("2027-01-01"), -1), "2026-12-31")
      assert.strictEqual(UtcDay.add(day("2026-01-01"), 365), "2027-01-01")
      assert.strictEqual(UtcDay.add(day("2028-01-01"), 365), "2028-12-31")
      assert.strictEqual(UtcDay.add(day("2026-03-15"), -40), "2026-02-03")
    })
  })

  describe("range", () => {
    it("is the count days ending with last, oldest first", () => {
      assert.deepStrictEqual(text(UtcDay.range(day("2026-03-15"), 3)), ["2026-03-13", "2026-03-14", "2026-03-15"])
      assert.deepStrictEqual(text(UtcDay.range(day("2026-03-15"), 1)), ["2026-03-15"])
    })

    it("crosses the year boundary and the leap day", () => {
      assert.deepStrictEqual(text(UtcDay.range(day("2027-01-01"), 2)), ["2026-12-31", "2027-01-01"])
      assert.deepStrictEqual(text(UtcDay.range(day("2028-03-01"), 3)), ["2028-02-28", "2028-02-29", "2028-03-01"])
    })

    it("is empty for a count of zero or less", () => {
      assert.deepStrictEqual(text(UtcDay.range(day("2026-03-15"), 0)), [])
      assert.deepStrictEqual(text(UtcDay.range(day("2026-03-15"), -3)), [])
    })
  })

  describe("between", () => {
    it("is every day from from to to inclusive", () => {
      assert.deepStrictEqual(text(UtcDay.between(day("2026-02-27"), day("2026-03-02"))), [
        "2026-02-27",
        "2026-02-28",
        "2026-03-01",
        "2026-03-02"
      ])
      assert.deepStrictEqual(text(UtcDay.between(day("2028-02-28"), day("2028-03-01"))), [
        "2028-02-28",
        "2028-02-29",
        "2028-03-01"
      ])
      assert.deepStrictEqual(text(UtcDay.between(day("2026-12-31"), day("2027-01-01"))), ["2026-12-31", "2027-01-01"])
    })

    it("is the one day when from is to", () => {
      assert.deepStrictEqual(text(UtcDay.between(day("2026-03-15"), day("2026-03-15"))), ["2026-03-15"])
    })

    it("is empty when from is after to", () => {
      assert.deepStrictEqual(text(UtcDay.between(day("2026-03-16"), day("2026-03-15"))), [])
      assert.deepStrictEqual(text(UtcDay.between(day("2027-01-01"), day("2026-01-01"))), [])
    })

    it("spans a whole leap year", () => {
      const days = UtcDay.between(day("2028-01-01"), day("2028-12-31"))
      assert.strictEqual(days.length, 366)
      assert.strictEqual(new Set(days).size, 366)
      assert.include(days, day("2028-02-29"))
    })
  })

  describe("compare", () => {
    it("orders days chronologically", () => {
      assert.strictEqual(UtcDay.compare(day("2026-12-31"), day("2027-01-01")), -1)
      assert.strictEqual(UtcDay.compare(day("2027-01-01"), day("2026-12-31")), 1)
      assert.strictEqual(UtcDay.compare(day("2028-02-29"), day("2028-02-29")), 0)
    })
  })

  describe("properties", () => {
    it.prop("an instant lies inside its own day", [instant], ([t]) => {
      const d = UtcDay.fromMillis(t)
      assert.isTrue(Either.isRight(decode(d)), d)
      assert.isTrue(UtcDay.startMillis(d) <= t, `${d} starts after ${t}`)
      assert.isTrue(t <= UtcDay.endMillis(d), `${d} ends before ${t}`)
    })

    it.prop(
      "add(add(d, n), -n) is d",
      [instant, FastCheck.integer({ min: -20_000, max: 20_000 })],
      ([t, n]) => {
        const d = UtcDay.fromMillis(t)
        assert.strictEqual(UtcDay.add(UtcDay.add(d, n), -n), d)
      }
    )

    it.prop("range(d, n) is n consecutive days ending with d", [instant, FastCheck.integer({ min: 1, max: 60 })], (
      [t, n]
    ) => {
      const d = UtcDay.fromMillis(t)
      const days = UtcDay.range(d, n)
      assert.strictEqual(days.length, n)
      assert.strictEqual(days[n - 1], d)
      for (let i = 1; i < n; i++) assert.strictEqual(UtcDay.add(days[i - 1]!, 1), days[i])
      assert.deepStrictEqual(UtcDay.between(days[0]!, d), days)
    })
  })
})
