// The SAM template, validated offline: cfn-lint passes, the table has the adapters' layout, and each
// function's IAM actions are exactly those its flow calls (`IamActions` of @augint-billing/adapters-aws).
import { DynamoCustomerRepo, IamActions } from "@augint-billing/adapters-aws"
import { assert, beforeAll, describe, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import * as Fs from "node:fs"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { emitted, metricKey } from "./support/Emitted.js"

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

let parsed: Template
// Asynchronous: a synchronous child process blocks the worker, and vitest's RPC times out on a loaded machine.
const run = promisify(execFile)

beforeAll(async () => {
  // cfn-lint.sh installs the pinned cfn-lint on first use; its own YAML decoder reads the short-form tags.
  await run("bash", [lint, "--version"])
  const { stdout: json } = await run(`${root}.tools/cfn-venv/bin/python`, [
    "-c",
    "import json,sys\nfrom cfnlint.decode import decode\nt,m=decode(sys.argv[1])\nassert not m, m\nprint(json.dumps(t))",
    template
  ], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 })
  parsed = JSON.parse(json) as Template
}, 600_000)

const statements = (fn: string): ReadonlyArray<Statement> =>
  (parsed.Resources[fn]!.Properties.Policies as ReadonlyArray<{ Statement: ReadonlyArray<Statement> }>)
    .flatMap((p) => p.Statement)

const actionsOf = (fn: string) => new Set(statements(fn).flatMap((s) => s.Action))

const sorted = (s: Iterable<string>) => [...new Set(s)].sort()

describe("template.yaml", () => {
  it("passes cfn-lint", async () => {
    const result = await run("bash", [lint, template], { encoding: "utf8" }).then(
      () => "",
      (e: { stdout?: string; stderr?: string; message: string }) => `${e.stdout ?? ""}${e.stderr ?? ""}${e.message}`
    )
    assert.strictEqual(result, "")
  })

  // IamActions.webhook / .schedule are derived from the port methods each flow calls (Permissions.test.ts).
  it("the webhook may call exactly IamActions.webhook: no Scan, DeleteItem or Query", () => {
    assert.deepStrictEqual(sorted(actionsOf("WebhookFunction")), sorted(IamActions.webhook))
  })

  it("the schedule may call exactly IamActions.schedule: key moves on the two plans' keys, no Scan or DeleteItem", () => {
    assert.deepStrictEqual(sorted(actionsOf("ScheduleFunction")), sorted(IamActions.schedule))
    for (const write of ["dynamodb:Scan", "dynamodb:DeleteItem"]) {
      assert.isFalse(actionsOf("ScheduleFunction").has(write), write)
    }
    // Plan repair (issue 9) moves keys, on the two plans' key collections only.
    const moves = statements("ScheduleFunction").filter((s) =>
      s.Action.includes("apigateway:POST") || s.Action.includes("apigateway:DELETE")
    )
    for (const s of moves) for (const r of s.Resource) assert.match(JSON.stringify(r), /UsagePlanId\}\/keys/)
  })

  it("only the schedule puts events, and only on the alert bus", () => {
    const put = statements("ScheduleFunction").filter((s) => s.Action.includes("events:PutEvents"))
    assert.deepStrictEqual(put.map((s) => s.Resource), [[{
      "Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/${AlertEventBus}"
    }]])
    for (const fn of ["WebhookFunction", "UsageFunction"]) assert.isFalse(actionsOf(fn).has("events:PutEvents"), fn)
  })

  it("only the schedule queries, and only the candidate index", () => {
    const query = statements("ScheduleFunction").filter((s) => s.Action.includes("dynamodb:Query"))
    assert.deepStrictEqual(query.map((s) => s.Resource), [[{
      "Fn::Sub": "${CustomerTable.Arn}/index/bySyncCandidate"
    }]])
    const tableOnly = statements("WebhookFunction").filter((s) => s.Sid === "CustomerTable")
    assert.deepStrictEqual(tableOnly.map((s) => s.Resource), [[{ "Fn::GetAtt": ["CustomerTable", "Arn"] }]])
  })

  it("the usage endpoint may call exactly IamActions.usage: reads only, one key's GetUsage", () => {
    assert.deepStrictEqual(sorted(actionsOf("UsageFunction")), sorted(IamActions.usage))
    for (const write of ["dynamodb:PutItem", "dynamodb:DeleteItem", "apigateway:POST", "apigateway:DELETE"]) {
      assert.isFalse(actionsOf("UsageFunction").has(write), write)
    }
    const plans = statements("UsageFunction").filter((s) => s.Sid === "UsagePlansRead").flatMap((s) => s.Resource)
    for (const r of plans) assert.match(JSON.stringify(r), /\/usage"/)
    // Only the seller's own API may invoke it, and only when its id is given.
    const permission = parsed.Resources.UsageApiPermission as Resource & { Condition: string }
    assert.strictEqual(permission.Condition, "HasUsageApi")
    assert.strictEqual(permission.Properties.Principal, "apigateway.amazonaws.com")
    assert.include(JSON.stringify(permission.Properties.SourceArn), ":${UsageApiId}/*")
    assert.deepStrictEqual(parsed.Resources.UsageFunction!.Properties.ReservedConcurrentExecutions, {
      "Fn::If": ["ReserveUsageConcurrency", { Ref: "UsageReservedConcurrency" }, { Ref: "AWS::NoValue" }]
    })
  })

  it("the spend cap's plan: optional parameter and variable, key moves on its keys only, and only where keys move", () => {
    assert.strictEqual(parsed.Parameters.CappedUsagePlanId!.Default, "")
    assert.strictEqual(parsed.Parameters.SpendCapUnits!.Default, 0)
    const globals =
      (parsed as unknown as { Globals: { Function: { Environment: { Variables: Record<string, unknown> } } } })
        .Globals.Function.Environment.Variables
    assert.deepStrictEqual(globals.CAPPED_USAGE_PLAN_ID, { Ref: "CappedUsagePlanId" })
    assert.deepStrictEqual(globals.SPEND_CAP_UNITS, { Ref: "SpendCapUnits" })
    const capped = (fn: string) =>
      statements(fn).flatMap((s) =>
        s.Resource.filter((r) => JSON.stringify(r).includes("CappedUsagePlanId")).map((r) => ({ sid: s.Sid, r }))
      )
    for (const fn of ["WebhookFunction", "ScheduleFunction", "WorkerFunction"]) {
      assert.deepStrictEqual(capped(fn).map((c) => c.sid), ["UsagePlanKeysAdd", "UsagePlanKeysRemove"], fn)
      for (const { r } of capped(fn)) {
        // Granted only when the plan is configured: an empty id would name /usageplans//keys.
        assert.strictEqual((r as { "Fn::If": ReadonlyArray<unknown> })["Fn::If"][0], "HasCappedPlan")
        assert.match(JSON.stringify(r), /\$\{CappedUsagePlanId\}\/keys(\/\*)?"/)
      }
    }
    for (const fn of ["UsageFunction", "CoordinatorFunction"]) assert.deepStrictEqual(capped(fn), [], fn)
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
    for (
      const fn of ["WebhookFunction", "ScheduleFunction", "UsageFunction", "CoordinatorFunction", "WorkerFunction"]
    ) {
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
          if (s.Sid.startsWith("WorkQueue")) {
            assert.strictEqual(
              text,
              JSON.stringify({ "Fn::GetAtt": ["WorkQueue", "Arn"] })
            )
          }
        }
      }
    }
    // Only the webhook reads the signing secret.
    assert.notInclude(JSON.stringify(statements("ScheduleFunction")), "StripeWebhookSecretArn")
    assert.notInclude(JSON.stringify(statements("UsageFunction")), "StripeWebhookSecretArn")
  })

  describe("SyncMode: the single-process schedule (default) or the fan-out on SQS", () => {
    const conditionOf = (id: string) => (parsed.Resources[id] as Resource & { Condition?: string }).Condition

    it("single by default; fanout creates the queues, functions, mapping and alarm, and disables the schedule", () => {
      assert.strictEqual(parsed.Parameters.SyncMode!.Default, "single")
      assert.deepStrictEqual(parsed.Parameters.SyncMode!.AllowedValues, ["single", "fanout"])
      for (
        const id of [
          "WorkQueue",
          "WorkDeadLetterQueue",
          "CoordinatorFunction",
          "WorkerFunction",
          "WorkerEventSource",
          "WorkDeadLetterAlarm"
        ]
      ) assert.strictEqual(conditionOf(id), "FanOutSync", id)
      assert.strictEqual(conditionOf("SyncMissingAlarm"), "SingleSync")
      const hourly = (id: string) =>
        (parsed.Resources[id]!.Properties.Events as Record<string, Resource>).Hourly!.Properties
      assert.deepStrictEqual(hourly("ScheduleFunction").State, { "Fn::If": ["SingleSync", "ENABLED", "DISABLED"] })
      assert.strictEqual(hourly("CoordinatorFunction").ScheduleExpression, "rate(1 hour)")
      // The workers at once, each at its API_GATEWAY_RATE_LIMIT, stay within the account's 10 requests/s
      // and burst 40 (docs.aws.amazon.com/apigateway/latest/developerguide/limits.html).
      const workers = (parsed.Resources.WorkerEventSource!.Properties.ScalingConfig as { MaximumConcurrency: number })
        .MaximumConcurrency
      const env = (parsed.Resources.WorkerFunction!.Properties.Environment as { Variables: Record<string, string> })
        .Variables
      const [perSecond, burst] = env.API_GATEWAY_RATE_LIMIT!.split("/").map(Number) as [number, number]
      assert.isAtMost(workers * perSecond, 10)
      assert.isAtMost(workers * burst, 40)
      assert.strictEqual(parsed.Resources.CoordinatorFunction!.Properties.CodeUri, "dist-bundle/coordinator/")
      assert.strictEqual(parsed.Resources.WorkerFunction!.Properties.CodeUri, "dist-bundle/worker/")
    })

    // docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html: "set the source queue's
    // visibility timeout to at least six times the configuration timeout on your function".
    it("the worker's mapping reports batch item failures; visibility timeout >= 6 x the worker's timeout; redrive to the DLQ", () => {
      const mapping = parsed.Resources.WorkerEventSource!.Properties
      assert.deepStrictEqual(mapping.FunctionResponseTypes, ["ReportBatchItemFailures"])
      assert.deepStrictEqual(mapping.EventSourceArn, { "Fn::GetAtt": ["WorkQueue", "Arn"] })
      assert.deepStrictEqual(mapping.FunctionName, { Ref: "WorkerFunction" })
      assert.isAtLeast(mapping.BatchSize as number, 1)
      const queue = parsed.Resources.WorkQueue!.Properties
      assert.isAtLeast(
        queue.VisibilityTimeout as number,
        6 * (parsed.Resources.WorkerFunction!.Properties.Timeout as number)
      )
      assert.deepStrictEqual(queue.RedrivePolicy, {
        deadLetterTargetArn: { "Fn::GetAtt": ["WorkDeadLetterQueue", "Arn"] },
        maxReceiveCount: 3
      })
      assert.deepStrictEqual(parsed.Resources.CoordinatorFunction!.Properties.Environment, {
        Variables: { WORK_QUEUE_URL: { Ref: "WorkQueue" } }
      })
    })

    // IamActions.coordinatorMethods / workerMethods come from the port methods FanOut.plan / FanOut.work call (Permissions.test.ts).
    it("the coordinator may call exactly IamActions.coordinator, the worker exactly IamActions.worker", () => {
      assert.deepStrictEqual(sorted(actionsOf("CoordinatorFunction")), sorted(IamActions.coordinator))
      assert.deepStrictEqual(sorted(actionsOf("WorkerFunction")), sorted(IamActions.worker))
      // Only the coordinator sends work, only the worker's poller receives it.
      assert.isFalse(actionsOf("WorkerFunction").has("sqs:SendMessage"))
      assert.isFalse(actionsOf("CoordinatorFunction").has("sqs:ReceiveMessage"))
      // No SAM SQS event: it would attach AWSLambdaSQSQueueExecutionRole (every queue).
      assert.isUndefined(parsed.Resources.WorkerFunction!.Properties.Events)
    })
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

  describe("alarms and dashboard", () => {
    const resourcesOf = (type: string) => Object.entries(parsed.Resources).filter(([, r]) => r.Type === type)

    // AWS's own metrics the alarms may use: name, namespace and the dimension naming the resource.
    // docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html, .../urls-monitoring.html;
    // SQS: docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html
    const awsMetrics: Record<string, { readonly names: ReadonlyArray<string>; readonly dimension: string }> = {
      "AWS/Lambda": { names: ["Errors", "Throttles", "Url5xxCount", "UrlRequestCount"], dimension: "FunctionName" },
      "AWS/SQS": { names: ["ApproximateNumberOfMessagesVisible"], dimension: "QueueName" }
    }

    interface MetricSpec {
      readonly Namespace: unknown
      readonly MetricName: string
      readonly Dimensions: ReadonlyArray<{ readonly Name: string; readonly Value: unknown }>
    }
    const metricsOf = (alarm: Record<string, unknown>): ReadonlyArray<MetricSpec> =>
      alarm.Metrics === undefined
        ? [alarm as unknown as MetricSpec]
        : (alarm.Metrics as ReadonlyArray<{ MetricStat?: { Metric: MetricSpec } }>).flatMap((m) =>
          m.MetricStat === undefined ? [] : [m.MetricStat.Metric]
        )

    it(
      "every alarm's metric is one the code writes (namespace, name, every dimension) or one AWS publishes",
      async () => {
        const written = await emitted("AugintBillingTemplateCheck")
        const alarms = resourcesOf("AWS::CloudWatch::Alarm")
        assert.isAtLeast(alarms.length, 10)
        for (const [id, alarm] of alarms) {
          assert.deepStrictEqual(alarm.Properties.AlarmActions, [{ Ref: "AlarmTopic" }], id)
          for (const metric of metricsOf(alarm.Properties)) {
            if (JSON.stringify(metric.Namespace) === JSON.stringify({ Ref: "MetricsNamespace" })) {
              const dims = Object.fromEntries(metric.Dimensions.map((d) => [d.Name, String(d.Value)]))
              assert.isTrue(
                written.has(metricKey(metric.MetricName, dims)),
                `${id}: ${metricKey(metric.MetricName, dims)}`
              )
            } else {
              const aws = awsMetrics[metric.Namespace as string]
              assert.isDefined(aws, `${id}: namespace ${JSON.stringify(metric.Namespace)}`)
              assert.include(aws!.names, metric.MetricName, id)
              assert.deepStrictEqual(metric.Dimensions.map((d) => d.Name), [aws!.dimension], id)
            }
          }
        }
      },
      60_000
    )

    it("alarms cover: sync failed or cut short, no successful sync (or fan-out) in 2 hours (missing = breaching), a failed coordinator, each function's errors and throttles, webhook 5xx rate, dead letters, meter error reports", () => {
      const byMetric = (name: string) =>
        resourcesOf("AWS::CloudWatch::Alarm").filter(([, a]) =>
          metricsOf(a.Properties).some((m) => m.MetricName === name)
        )
      assert.lengthOf(byMetric("SyncFailed"), 1)
      assert.lengthOf(byMetric("SyncCutShort"), 1)
      const missing = byMetric("SyncSucceeded")[0]![1].Properties
      assert.deepStrictEqual(
        [missing.Period, missing.EvaluationPeriods, missing.TreatMissingData, missing.ComparisonOperator],
        [3600, 2, "breaching", "LessThanThreshold"]
      )
      for (const name of ["Errors", "Throttles"]) {
        const functions = byMetric(name).flatMap(([, a]) => metricsOf(a.Properties).map((m) => m.Dimensions[0]!.Value))
        assert.sameDeepMembers(functions, [{ Ref: "WebhookFunction" }, { Ref: "ScheduleFunction" }], name)
      }
      assert.lengthOf(byMetric("Url5xxCount"), 1)
      // The schedule's dead letters and the fan-out's work items that failed maxReceiveCount deliveries.
      assert.sameDeepMembers(
        byMetric("ApproximateNumberOfMessagesVisible").map(([, a]) => a.Properties.Dimensions),
        [
          [{ Name: "QueueName", Value: { "Fn::GetAtt": ["ScheduleDeadLetterQueue", "QueueName"] } }],
          [{ Name: "QueueName", Value: { "Fn::GetAtt": ["WorkDeadLetterQueue", "QueueName"] } }]
        ]
      )
      assert.lengthOf(byMetric("MeterErrorReports"), 1)
      // The fan-out's: a failed coordinator run, and no successful one in 2 hours (its heartbeat).
      assert.lengthOf(byMetric("CoordinatorFailed"), 1)
      const fanOutMissing = byMetric("CoordinatorSucceeded")[0]![1] as Resource & { Condition?: string }
      assert.deepStrictEqual(
        [
          fanOutMissing.Condition,
          fanOutMissing.Properties.EvaluationPeriods,
          fanOutMissing.Properties.TreatMissingData
        ],
        ["FanOutSync", 2, "breaching"]
      )
      const events = parsed.Resources.ScheduleFunction!.Properties.Events as Record<string, Resource>
      assert.deepStrictEqual((events.Hourly!.Properties as Record<string, unknown>).DeadLetterConfig, {
        Arn: { "Fn::GetAtt": ["ScheduleDeadLetterQueue", "Arn"] }
      })
      assert.strictEqual(parsed.Resources.ScheduleDeadLetterQueue!.Type, "AWS::SQS::Queue")
    })

    it("the dashboard shows only metrics the code writes, in the configured namespace", async () => {
      const written = await emitted("AugintBillingTemplateCheck")
      const [[, dashboard]] = resourcesOf("AWS::CloudWatch::Dashboard") as [[string, Resource]]
      const [body] = (dashboard.Properties.DashboardBody as { "Fn::Sub": [string, unknown] })["Fn::Sub"]
      const json = JSON.parse(
        body.replace(/\$\{Ns\}/g, "AugintBillingTemplateCheck").replace(/\$\{[A-Za-z:]+\}/g, "x")
      ) as {
        widgets: ReadonlyArray<{ properties: { metrics: ReadonlyArray<ReadonlyArray<unknown>> } }>
      }
      let checked = 0
      for (const widget of json.widgets) {
        let previous: ReadonlyArray<unknown> = []
        for (const row of widget.properties.metrics) {
          if (typeof row[0] !== "string") continue
          // "." repeats the previous row's value at the same position.
          const full = row.map((v, i) => v === "." ? previous[i] : v)
          previous = full
          const [namespace, name, ...dims] = full as Array<string>
          if (namespace !== "AugintBillingTemplateCheck") continue
          const dimensions: Record<string, string> = {}
          for (let i = 0; i < dims.length; i += 2) dimensions[dims[i]!] = dims[i + 1]!
          assert.isTrue(written.has(metricKey(name!, dimensions)), metricKey(name!, dimensions))
          checked++
        }
      }
      assert.isAtLeast(checked, 10)
    }, 60_000)
  })
})
