// The SAM template, validated offline: cfn-lint passes, the table has the adapters' layout, and each
// function's IAM actions are exactly those its flow calls (`IamActions` of @augint-billing/adapters-aws).
import { DynamoCustomerRepo, IamActions } from "@augint-billing/adapters-aws"
import { assert, beforeAll, describe, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import * as Fs from "node:fs"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"

const root = fileURLToPath(new URL("../../../", import.meta.url))
const template = fileURLToPath(new URL("../template.yaml", import.meta.url))
const lint = `${root}scripts/servers/cfn-lint.sh`

interface Statement {
  readonly Sid: string
  readonly Effect: string
  readonly Action: ReadonlyArray<string>
  readonly Resource: ReadonlyArray<unknown>
}
interface Resource {
  readonly Type: string
  readonly Properties: Record<string, unknown>
}
interface Template {
  readonly Parameters: Record<string, Record<string, unknown>>
  readonly Resources: Record<string, Resource>
}

// Never a synchronous child process here: cfn-lint takes minutes on a loaded machine, and a worker
// whose event loop is blocked that long fails the run with vitest's `Timeout calling "onTaskUpdate"`.
const run = promisify(execFile)

let parsed: Template
let linted: { readonly code: number; readonly output: string }
beforeAll(async () => {
  // cfn-lint.sh installs the pinned cfn-lint on first use; its own YAML decoder reads the short-form tags.
  await run("bash", [lint, "--version"])
  const [decoded, lintRun] = await Promise.all([
    run(`${root}.tools/cfn-venv/bin/python`, [
      "-c",
      "import json,sys\nfrom cfnlint.decode import decode\nt,m=decode(sys.argv[1])\nassert not m, m\nprint(json.dumps(t))",
      template
    ]),
    run("bash", [lint, template]).then(
      (r) => ({ code: 0, output: r.stdout + r.stderr }),
      (e: { code?: number; stdout?: string; stderr?: string }) => ({
        code: e.code ?? 1,
        output: `${e.stdout ?? ""}${e.stderr ?? ""}`
      })
    )
  ])
  parsed = JSON.parse(decoded.stdout) as Template
  linted = lintRun
}, 600_000)

const statements = (fn: string): ReadonlyArray<Statement> =>
  (parsed.Resources[fn]!.Properties.Policies as ReadonlyArray<{ Statement: ReadonlyArray<Statement> }>)
    .flatMap((p) => p.Statement)

const actionsOf = (fn: string) => new Set(statements(fn).flatMap((s) => s.Action))

const sorted = (s: Iterable<string>) => [...new Set(s)].sort()

describe("template.yaml", () => {
  it("passes cfn-lint", () => {
    assert.strictEqual(linted.code, 0, linted.output)
  })

  // IamActions.webhook / .schedule are derived from the port methods each flow calls (Permissions.test.ts).
  it("the webhook may call exactly IamActions.webhook: no Scan, DeleteItem or Query", () => {
    assert.deepStrictEqual(sorted(actionsOf("WebhookFunction")), sorted(IamActions.webhook))
  })

  it("the schedule may call exactly IamActions.schedule: no key moves, Scan or DeleteItem", () => {
    assert.deepStrictEqual(sorted(actionsOf("ScheduleFunction")), sorted(IamActions.schedule))
    for (const write of ["apigateway:POST", "apigateway:DELETE"]) {
      assert.isFalse(actionsOf("ScheduleFunction").has(write), write)
    }
  })

  it("only the schedule queries, and only the candidate index", () => {
    const query = statements("ScheduleFunction").filter((s) => s.Action.includes("dynamodb:Query"))
    assert.deepStrictEqual(query.map((s) => s.Resource), [[{
      "Fn::Sub": "${CustomerTable.Arn}/index/bySyncCandidate"
    }]])
    const tableOnly = statements("WebhookFunction").filter((s) => s.Sid === "CustomerTable")
    assert.deepStrictEqual(tableOnly.map((s) => s.Resource), [[{ "Fn::GetAtt": ["CustomerTable", "Arn"] }]])
  })

  it("the public webhook has a reserved concurrency (parameter, default 20; -1 reserves none)", () => {
    const fn = parsed.Resources.WebhookFunction!.Properties
    assert.deepStrictEqual(fn.ReservedConcurrentExecutions, {
      "Fn::If": ["ReserveWebhookConcurrency", { Ref: "WebhookReservedConcurrency" }, { Ref: "AWS::NoValue" }]
    })
    assert.strictEqual(parsed.Parameters.WebhookReservedConcurrency!.Default, 20)
    assert.isUndefined(parsed.Resources.ScheduleFunction!.Properties.ReservedConcurrentExecutions)
  })

  it("every statement allows, on named resources only", () => {
    for (const fn of ["WebhookFunction", "ScheduleFunction"]) {
      for (const s of statements(fn)) {
        assert.strictEqual(s.Effect, "Allow")
        for (const r of s.Resource) {
          const text = JSON.stringify(r)
          assert.notMatch(text, /"\*"|:\*"|::\*/, `${fn}/${s.Sid}: ${text}`)
          if (s.Sid === "CustomerTable" || s.Sid === "SyncCandidates") assert.include(text, "CustomerTable")
          if (s.Sid.startsWith("UsagePlan") && text.includes("${")) {
            assert.match(text, /usageplans(\/\$\{(Free|Metered)UsagePlanId\})?/)
          }
          if (s.Sid === "StripeSecrets") assert.match(text, /Stripe(Webhook)?SecretArn/)
        }
      }
    }
    // Only the webhook reads the signing secret.
    assert.notInclude(JSON.stringify(statements("ScheduleFunction")), "StripeWebhookSecretArn")
  })

  it("the table has the adapters' layout: key, sparse GSI, TTL", () => {
    const L = DynamoCustomerRepo.TableLayout
    const table = parsed.Resources.CustomerTable!.Properties
    assert.deepStrictEqual(table.KeySchema, [{ AttributeName: L.partitionKey, KeyType: "HASH" }])
    assert.deepStrictEqual(table.GlobalSecondaryIndexes, [{
      IndexName: L.syncIndex,
      KeySchema: [{ AttributeName: L.syncAttribute, KeyType: "HASH" }, {
        AttributeName: L.partitionKey,
        KeyType: "RANGE"
      }],
      Projection: { ProjectionType: "ALL" }
    }])
    assert.deepStrictEqual(table.TimeToLiveSpecification, { AttributeName: L.ttlAttribute, Enabled: true })
    assert.strictEqual(table.BillingMode, "PAY_PER_REQUEST")
  })

  it("both functions run nodejs22.x on arm64 from the bundles, with retained logs and the hourly schedule", () => {
    const text = Fs.readFileSync(template, "utf8")
    assert.include(text, "Runtime: nodejs22.x")
    assert.include(text, "Architectures: [arm64]")
    assert.strictEqual(parsed.Resources.WebhookFunction!.Properties.CodeUri, "dist-bundle/webhook/")
    assert.strictEqual(parsed.Resources.ScheduleFunction!.Properties.CodeUri, "dist-bundle/schedule/")
    const events = parsed.Resources.ScheduleFunction!.Properties.Events as Record<string, Resource>
    assert.strictEqual((events.Hourly!.Properties as { ScheduleExpression: string }).ScheduleExpression, "rate(1 hour)")
    for (const g of ["WebhookLogGroup", "ScheduleLogGroup"]) {
      assert.deepStrictEqual(parsed.Resources[g]!.Properties.RetentionInDays, { Ref: "LogRetentionDays" })
    }
  })
})
