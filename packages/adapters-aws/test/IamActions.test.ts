// IamActions against the source: every SDK command sent in src is listed under the adapter that sends
// it with the action AWS authorises it as, nothing listed is unused, and the README's IAM table agrees.
import { Customer, Ids, UtcDay } from "@augint-billing/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { ApiGatewayPlanAdmin, ApiGatewayUsageSource, DynamoCustomerRepo, IamActions } from "../src/index.js"

const pkg = fileURLToPath(new URL("../", import.meta.url))
const src = Path.join(pkg, "src")

const sourceFiles = (dir: string): ReadonlyArray<string> =>
  Fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(Path.join(dir, e.name)) : e.name.endsWith(".ts") ? [Path.join(dir, e.name)] : []
  )

const read = (file: string) => Fs.readFileSync(Path.join(src, file), "utf8")

/** Command classes constructed in `text` (`new XxxCommand(`). */
const sent = (text: string): ReadonlyArray<string> =>
  [...new Set([...text.matchAll(/new\s+([A-Z][A-Za-z]*Command)\s*\(/g)].map((m) => m[1]!))].sort()

/** The `@aws-sdk/*` package each command class of `text` is imported from. */
const importedFrom = (text: string): ReadonlyMap<string, string> => {
  const from = new Map<string, string>()
  for (const [, names, pkgName] of text.matchAll(/import\s*\{([^}]*)\}\s*from\s*"(@aws-sdk\/[a-z-]+)"/g)) {
    for (const name of names!.split(",").map((n) => n.replace(/^\s*type\s+/, "").trim())) from.set(name, pkgName!)
  }
  return from
}

// AWS's own names, written out independently of IamActions: DynamoDB's document-client commands are
// authorised as the low-level operation, API Gateway's management API by HTTP method, the rest by name.
const documentClientActions: Record<string, string> = {
  GetCommand: "GetItem",
  PutCommand: "PutItem",
  DeleteCommand: "DeleteItem",
  UpdateCommand: "UpdateItem",
  QueryCommand: "Query",
  ScanCommand: "Scan",
  BatchGetCommand: "BatchGetItem",
  BatchWriteCommand: "BatchWriteItem"
}
const transactItemActions: Record<string, string> = {
  Put: "dynamodb:PutItem",
  Delete: "dynamodb:DeleteItem",
  Update: "dynamodb:UpdateItem",
  ConditionCheck: "dynamodb:ConditionCheckItem"
}
const apiGatewayMethods: ReadonlyArray<readonly [RegExp, string]> = [
  [/^Get/, "GET"],
  [/^Create/, "POST"],
  [/^Delete/, "DELETE"],
  [/^Update/, "PATCH"]
]

/** The actions AWS authorises `command` (imported from `sdk`) as; `text` is the sending file. */
const expectedActions = (command: string, sdk: string | undefined, text: string): ReadonlyArray<string> => {
  const operation = command.replace(/Command$/, "")
  switch (sdk) {
    case "@aws-sdk/lib-dynamodb": {
      if (command === "TransactWriteCommand") {
        // Authorised per item: the item kinds the file's transactions hold.
        const kinds = [...text.matchAll(/^\s+(Put|Delete|Update|ConditionCheck):\s*\{/gm)].map((m) => m[1]!)
        return [...new Set(kinds.map((k) => transactItemActions[k]!))].sort()
      }
      const action = documentClientActions[command]
      assert.isDefined(action, `no known action for ${command}`)
      return [`dynamodb:${action}`]
    }
    case "@aws-sdk/client-dynamodb":
      return [`dynamodb:${operation}`]
    case "@aws-sdk/client-api-gateway": {
      const method = apiGatewayMethods.find(([re]) => re.test(operation))
      assert.isDefined(method, `no known HTTP method for ${command}`)
      return [`apigateway:${method![1]}`]
    }
    case "@aws-sdk/client-secrets-manager":
      return [`secretsmanager:${operation}`]
    // SQS authorises the batch APIs as their single-message action.
    case "@aws-sdk/client-sqs":
      return [`sqs:${operation.replace(/Batch$/, "")}`]
    case "@aws-sdk/client-eventbridge":
      return [`events:${operation}`]
    default:
      return assert.fail(`${command} is imported from ${sdk ?? "nowhere"}, not a known SDK client`)
  }
}

// Which groups of IamActions.commands each source file sends.
const owners: Record<string, ReadonlyArray<keyof typeof IamActions.commands>> = {
  "DynamoCustomerRepo.ts": ["customerRepo"],
  "DynamoTable.ts": ["createTable", "describeTable"],
  "ApiGatewayUsageSource.ts": ["usageSource"],
  "ApiGatewayPlanAdmin.ts": ["planAdmin"],
  "ApiGateway.ts": ["describeUsagePlan"],
  "Secrets.ts": ["secrets"],
  "SqsWorkQueue.ts": ["workQueue"],
  "EventBridgeAlertSink.ts": ["alertSink"]
}

const commandNames = (groups: ReadonlyArray<keyof typeof IamActions.commands>) =>
  [...new Set(groups.flatMap((g) => Object.keys(IamActions.commands[g])))].sort()

describe("IamActions", () => {
  it("every command class constructed in src belongs to the groups of its file, and every listed one is sent", () => {
    const files = sourceFiles(src).map((f) => Path.relative(src, f))
    let seen = 0
    for (const file of files) {
      const text = read(file)
      assert.deepStrictEqual(sent(text), commandNames(owners[file] ?? []), `${file}: sent vs IamActions.commands`)
      seen += sent(text).length
    }
    assert.isAtLeast(seen, 15)
  })

  it("the runtime repository (DynamoCustomerRepo.make) sends exactly the customerRepo commands", () => {
    const text = read("DynamoCustomerRepo.ts")
    const start = text.indexOf("export const make = (")
    assert.isAtLeast(start, 0)
    const body = text.slice(start, text.indexOf("\n}\n", start))
    assert.deepStrictEqual(sent(body), Object.keys(IamActions.commands.customerRepo).sort())
  })

  it("each listed command is authorised as AWS names it", () => {
    assert.deepStrictEqual(Object.keys(IamActions.commands).sort(), Object.values(owners).flat().sort())
    for (const [file, groups] of Object.entries(owners)) {
      const text = read(file)
      const from = importedFrom(text)
      for (const group of groups) {
        for (const [command, actions] of Object.entries<ReadonlyArray<string>>(IamActions.commands[group])) {
          assert.deepStrictEqual(
            [...actions].sort(),
            expectedActions(command, from.get(command), text),
            `${group}.${command} in ${file}`
          )
        }
      }
    }
  })

  it("the constants are the distinct actions of their commands", () => {
    assert.deepStrictEqual(IamActions.customerRepo, [
      "dynamodb:BatchGetItem",
      "dynamodb:DeleteItem",
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:Query",
      "dynamodb:Scan"
    ])
    assert.deepStrictEqual(IamActions.usageSource, ["apigateway:GET"])
    assert.deepStrictEqual(IamActions.planAdmin, ["apigateway:DELETE", "apigateway:GET", "apigateway:POST"])
    assert.deepStrictEqual(IamActions.secrets, ["secretsmanager:GetSecretValue"])
    assert.deepStrictEqual(IamActions.alertSink, ["events:PutEvents"])
    assert.deepStrictEqual(IamActions.createTable, [
      "dynamodb:CreateTable",
      "dynamodb:DescribeTable",
      "dynamodb:DescribeTimeToLive",
      "dynamodb:UpdateTimeToLive"
    ])
    assert.deepStrictEqual(IamActions.infraStatus, [
      "apigateway:GET",
      "dynamodb:DescribeTable",
      "dynamodb:DescribeTimeToLive"
    ])
  })

  it("the README's IAM table lists exactly these actions per adapter", () => {
    const readme = Fs.readFileSync(Path.join(pkg, "README.md"), "utf8")
    const section = readme.split("## IAM permissions")[1]!.split("\n## ")[0]!
    const rows = section.split("\n").filter((l) => l.startsWith("| ") && !l.startsWith("| adapter"))
    const byAdapter = new Map<string, Set<string>>()
    let current = ""
    for (const row of rows) {
      const cells = row.split("|").map((c) => c.trim())
      // A row with an empty first cell continues the adapter above it.
      if (cells[1] !== "") current = cells[1]!.replace(/`/g, "")
      const actions = byAdapter.get(current) ?? new Set<string>()
      for (const [, action] of cells[2]!.matchAll(/`([a-z]+:[A-Za-z]+)`/g)) actions.add(action!)
      byAdapter.set(current, actions)
    }
    // `kms:Decrypt` is conditional on a customer-managed key, so it is not one of the SDK's actions.
    byAdapter.get("Secrets")?.delete("kms:Decrypt")
    const table: Record<string, ReadonlyArray<string>> = Object.fromEntries(
      [...byAdapter].map(([k, v]) => [k, [...v].sort()])
    )
    assert.deepStrictEqual(table, {
      DynamoCustomerRepo: IamActions.customerRepo,
      "createTable (dev only)": IamActions.createTable,
      "describeTable, describeUsagePlan (infra status)": IamActions.infraStatus,
      ApiGatewayUsageSource: IamActions.usageSource,
      ApiGatewayPlanAdmin: IamActions.planAdmin,
      SqsWorkQueue: IamActions.workQueue,
      Secrets: IamActions.secrets,
      EventBridgeAlertSink: IamActions.alertSink
    })
  })
})

// A client that records the commands sent and answers each with an empty (or the given) result: the
// actions a port method needs are those of the commands it really sends.
const recordingClient = (answer: (command: string) => unknown = () => ({})) => {
  const actions = new Set<string>()
  const client = {
    send: (command: { readonly constructor: { readonly name: string }; readonly input: Record<string, unknown> }) => {
      const name = command.constructor.name
      const transact = command.input.TransactItems as ReadonlyArray<Record<string, unknown>> | undefined
      if (transact !== undefined) {
        for (const item of transact) actions.add(`dynamodb:${Object.keys(item)[0]}Item`)
      } else if (name in documentClientActions) {
        actions.add(`dynamodb:${documentClientActions[name]}`)
      } else {
        actions.add(`apigateway:${apiGatewayMethods.find(([re]) => re.test(name))![1]}`)
      }
      return Promise.resolve(answer(name))
    }
  }
  const take = () => {
    const seen = [...actions].sort()
    actions.clear()
    return seen
  }
  return { client, take }
}

describe("IamActions.methods", () => {
  it.effect("each CustomerRepo method sends exactly the actions listed for it (no Scan or DeleteItem but list and remove)", () =>
    Effect.gen(function*() {
      const { client, take } = recordingClient((name) =>
        name === "QueryCommand" || name === "ScanCommand" ? { Items: [] } : {}
      )
      const repo = DynamoCustomerRepo.make({ client: client as never, tableName: "t" })
      const customerId = Ids.CustomerId.make("cus_iam")
      const apiKeyId = Ids.ApiKeyId.make("key_iam")
      const customer = Customer.make({ customerId, apiKeyId, now: 1_700_000_000_000 })
      const eventId = Ids.EventId.make("evt_iam")
      const calls: Record<string, Effect.Effect<unknown, unknown>> = {
        "CustomerRepo.get": repo.get(customerId),
        "CustomerRepo.getMany": repo.getMany([customerId, Ids.CustomerId.make("cus_iam2")]),
        "CustomerRepo.findByApiKey": repo.findByApiKey(apiKeyId),
        "CustomerRepo.create": repo.create(customer),
        "CustomerRepo.update": repo.update(customer),
        "CustomerRepo.remove": repo.remove(customer),
        "CustomerRepo.listSyncCandidates": Stream.runDrain(repo.listSyncCandidates()),
        "CustomerRepo.list": Stream.runDrain(repo.list()),
        "CustomerRepo.isProcessed": repo.isProcessed(eventId),
        "CustomerRepo.markProcessed": repo.markProcessed({ eventId, expiresAt: 1_700_000_000 })
      }
      for (const [method, call] of Object.entries(calls)) {
        yield* call
        assert.deepStrictEqual(take(), [...IamActions.methods[method as IamActions.PortMethod]].sort(), method)
      }
    }))

  it.effect("each PlanAdmin and UsageSource method sends exactly the actions listed for it", () =>
    Effect.gen(function*() {
      const apiKeyId = Ids.ApiKeyId.make("key_iam")
      const { client, take } = recordingClient((name) =>
        name === "GetUsagePlansCommand"
          ? { items: [{ id: "FREE", apiStages: [] }] }
          : name === "GetUsagePlanCommand"
          ? { id: "METERED", apiStages: [] }
          : name === "GetUsageCommand"
          ? { items: {} }
          : {}
      )
      const api = { client: client as never, limit: <A, E, R>(self: Effect.Effect<A, E, R>) => self }
      const admin = ApiGatewayPlanAdmin.make(api as never)
      const usage = ApiGatewayUsageSource.make(api as never)
      const day = UtcDay.fromMillis(1_700_000_000_000)
      const calls: Record<string, Effect.Effect<unknown, unknown>> = {
        "PlanAdmin.plansOf": admin.plansOf(apiKeyId),
        "PlanAdmin.addKey": admin.addKey({ usagePlanId: Ids.UsagePlanId.make("METERED"), apiKeyId }),
        "PlanAdmin.removeKey": admin.removeKey({ usagePlanId: Ids.UsagePlanId.make("FREE"), apiKeyId }),
        "UsageSource.getUsagePage": usage.getUsagePage({
          usagePlanId: Ids.UsagePlanId.make("METERED"),
          startDay: day,
          endDay: day
        })
      }
      for (const [method, call] of Object.entries(calls)) {
        yield* call
        assert.deepStrictEqual(take(), [...IamActions.methods[method as IamActions.PortMethod]].sort(), method)
      }
    }))

  it("the functions' sets: no Scan, DeleteItem or table administration in either Lambda; the operator has all", () => {
    for (const fn of [IamActions.webhook, IamActions.schedule]) {
      for (const action of ["dynamodb:Scan", "dynamodb:DeleteItem", ...IamActions.createTable]) {
        assert.notInclude(fn, action)
      }
    }
    // The schedule moves keys too: plan repair (issue 9).
    assert.deepStrictEqual(IamActions.schedule, [
      "apigateway:DELETE",
      "apigateway:GET",
      "apigateway:POST",
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:Query",
      "events:PutEvents",
      "secretsmanager:GetSecretValue"
    ])
    assert.deepStrictEqual(IamActions.webhook, [
      "apigateway:DELETE",
      "apigateway:GET",
      "apigateway:POST",
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "secretsmanager:GetSecretValue"
    ])
    const everyMethod = Object.values(IamActions.methods).flat()
    for (const action of [...everyMethod, ...IamActions.createTable, ...IamActions.infraStatus]) {
      assert.include(IamActions.operator, action)
    }
  })
})
