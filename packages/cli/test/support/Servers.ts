// The local servers, and a proxy in front of moto that answers API Gateway's GetUsage (moto has none)
// in the shape AWS documents: `{ usagePlanId, startDate, endDate, values: { keyId: [[used, remaining], ...] } }`.
import { createServer, request, type Server } from "node:http"
import type { AddressInfo } from "node:net"

/** DynamoDB Local (scripts/servers/dynamodb-local.sh). */
export const dynamoEndpoint = `http://127.0.0.1:${process.env["DYNAMODB_LOCAL_PORT"] ?? "18000"}`
/** moto (scripts/servers/moto.sh). */
export const motoEndpoint = `http://127.0.0.1:${process.env["MOTO_PORT"] ?? "15000"}`
/** stripe-mock (scripts/servers/stripe-mock.sh). */
export const stripeMockPort = process.env["STRIPE_MOCK_PORT"] ?? "12111"

/** Forget everything moto holds. */
export const resetMoto = async () => {
  const res = await fetch(`${motoEndpoint}/moto-api/reset`, { method: "POST" })
  if (!res.ok) throw new Error(`moto reset answered ${res.status}`)
}

const DAY = 86_400_000
const days = (start: string, end: string) => Math.round((Date.parse(end) - Date.parse(start)) / DAY) + 1

/** A running proxy: `usage` maps plan -> key -> count per requested day (same count every day, last day only). */
export interface UsageProxy {
  readonly endpoint: string
  readonly usage: Map<string, Map<string, number>>
  readonly close: () => Promise<void>
}

/** Serve GetUsage for the plans in `usage` (the count on the last requested day) and forward the rest to moto. */
export const usageProxy = (): Promise<UsageProxy> =>
  new Promise((resolve) => {
    const usage = new Map<string, Map<string, number>>()
    const server: Server = createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1")
      const match = /^\/usageplans\/([^/]+)\/usage$/.exec(url.pathname)
      if (req.method === "GET" && match !== null) {
        const plan = decodeURIComponent(match[1]!)
        const start = url.searchParams.get("startDate")!
        const end = url.searchParams.get("endDate")!
        const n = days(start, end)
        const values: Record<string, Array<[number, number]>> = {}
        for (const [key, count] of usage.get(plan) ?? new Map<string, number>()) {
          values[key] = Array.from({ length: n }, (_, i): [number, number] => [i === n - 1 ? count : 0, 10_000])
        }
        res.writeHead(200, { "content-type": "application/json" })
        res.end(JSON.stringify({ usagePlanId: plan, startDate: start, endDate: end, values }))
        return
      }
      const target = new URL(req.url ?? "/", motoEndpoint)
      const forward = request(target, { method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
      })
      forward.on("error", (e) => {
        res.writeHead(502)
        res.end(String(e))
      })
      req.pipe(forward)
    })
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      resolve({
        endpoint: `http://127.0.0.1:${port}`,
        usage,
        close: () => new Promise((done) => server.close(() => done()))
      })
    })
  })
