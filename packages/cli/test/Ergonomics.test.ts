// CLI ergonomics (issue 11), each through the built command.
import { assert, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { bin, run, tempDir } from "./support/Cli.js"

const ESC = "\x1b["

describe("ergonomics", () => {
  it("global options work in any position", async () => {
    const dir = tempDir()
    const r = await run(["customers", "--json", "list", "--local", dir])
    assert.strictEqual(r.code, 0, r.stderr)
    assert.deepStrictEqual(JSON.parse(r.stdout), [])
    const debug = await run(["customers", "show", "cus_nobody", "--log-level", "debug", `--local=${dir}`])
    assert.strictEqual(debug.code, 1)
    assert.isAbove(debug.stderr.trim().split("\n").length, 1, "debug adds the cause")
  })

  it("help has no ANSI codes unless stdout is a terminal and NO_COLOR is unset", async () => {
    const piped = await run(["--help"])
    assert.notInclude(piped.stdout, ESC)
    // script(1) gives the command a terminal.
    const onTty = (env: NodeJS.ProcessEnv) =>
      spawnSync("script", ["-qc", `${process.execPath} ${bin} --help`, "/dev/null"], { encoding: "utf8", env }).stdout
    const { NO_COLOR: _, ...withoutNoColor } = process.env
    assert.include(onTty(withoutNoColor), ESC, "a terminal gets colours")
    assert.notInclude(onTty({ ...withoutNoColor, NO_COLOR: "1" }), ESC)
  })

  it("argument errors are one prefixed line naming the option, never a Schema dump", async () => {
    const dir = tempDir()
    const cases: ReadonlyArray<readonly [ReadonlyArray<string>, RegExp]> = [
      [
        ["reconcile", "--from", "2026-02-30"],
        /^ai-billing: --from: a UTC calendar day, YYYY-MM-DD \(got "2026-02-30"\)$/
      ],
      [
        ["customers", "show", "notcus"],
        /^ai-billing: <customer>: a Stripe customer id looks like cus_\.\.\. \(got "notcus"\)$/
      ],
      [["sync-usage", "--at", "yesterday-ish"], /^ai-billing: --at: an ISO instant .+ \(got "yesterday-ish"\)$/],
      [["sync-usage", "--customer", "bob"], /^ai-billing: --customer: a Stripe customer id/],
      [["sync-usage", "--bogus"], /^ai-billing: .*'--bogus'/]
    ]
    for (const [args, expected] of cases) {
      const r = await run(["--local", dir, ...args])
      assert.strictEqual(r.code, 2, args.join(" "))
      assert.match(r.stderr.trim(), expected)
      assert.strictEqual(r.stderr.trim().split("\n").length, 1, r.stderr)
      assert.notMatch(r.stderr, /└─|Schema|Expected/)
    }
  })

  it("a mistyped command gets a suggestion", async () => {
    const top = await run(["custmers", "list"])
    assert.strictEqual(top.code, 2)
    assert.strictEqual(
      top.stderr.trim(),
      "ai-billing: unknown command 'ai-billing custmers' (did you mean 'customers'?); see ai-billing --help"
    )
    const sub = await run(["--json", "customers", "lst"])
    assert.strictEqual(sub.code, 2)
    assert.include(sub.stderr, "did you mean 'list'?")
  })

  it("STRIPE_SECRET_KEY is checked as the Lambda checks it, without printing it", async () => {
    const r = await run(["customers", "list"], {
      env: {
        AWS_REGION: "us-east-1",
        TABLE_NAME: "billing-t",
        STRIPE_SECRET_KEY: "pk_live_notasecretkey",
        METERED_PRICE_ID: "price_1"
      }
    })
    assert.strictEqual(r.code, 1)
    assert.match(r.stderr, /STRIPE_SECRET_KEY: must look like sk_test_\.\.\., sk_live_\.\.\. or rk_\.\.\./)
    assert.notInclude(r.stderr, "notasecretkey")
  })

  it("AWS_DEFAULT_REGION stands for AWS_REGION; env-dump flags what AWS mode lacks", async () => {
    const r = await run(["--json", "env-dump"], { env: { AWS_DEFAULT_REGION: "eu-west-1" } })
    assert.strictEqual(r.code, 0, r.stderr)
    const dump = JSON.parse(r.stdout) as {
      mode: string
      variables: Record<string, string | null>
      missing: Array<string>
    }
    assert.strictEqual(dump.mode, "aws")
    assert.strictEqual(dump.variables["AWS_REGION"], "eu-west-1")
    assert.deepStrictEqual(dump.missing.map((m) => m.split(" (")[0]), [
      "TABLE_NAME",
      "STRIPE_SECRET_KEY or STRIPE_SECRET_ARN",
      "METERED_PRICE_ID or API_USAGE_PRODUCT_ID",
      "AWS_PROFILE or AWS_ACCESS_KEY_ID"
    ])
    const text = await run(["env-dump"], { env: { AWS_DEFAULT_REGION: "eu-west-1" } })
    assert.include(text.stdout, "missing for AWS mode:\n  TABLE_NAME (the customer table)")
    const local = await run(["--json", "env-dump", "--local", tempDir()])
    assert.deepStrictEqual((JSON.parse(local.stdout) as { missing: Array<string> }).missing, [])
  })

  it("absent AWS credentials get a hint", async () => {
    const home = tempDir()
    const r = await run(["customers", "list"], {
      cwd: home,
      env: {
        HOME: home,
        AWS_EC2_METADATA_DISABLED: "true",
        AWS_REGION: "us-east-1",
        TABLE_NAME: "billing-t",
        AWS_ENDPOINT_URL_DYNAMODB: "http://127.0.0.1:9",
        STRIPE_SECRET_KEY: "sk_test_1",
        METERED_PRICE_ID: "price_1",
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true"
      }
    })
    assert.strictEqual(r.code, 1)
    assert.match(
      r.stderr,
      /^ai-billing: no AWS credentials found: set AWS_PROFILE .*, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/
    )
  })

  it("the bash completion script completes hyphenated and nested commands in bash", async () => {
    const r = await run(["--completions", "bash"])
    assert.strictEqual(r.code, 0, r.stderr)
    const file = join(tempDir(), "ai-billing.bash")
    writeFileSync(file, r.stdout)
    const bash = (script: string) => spawnSync("bash", ["-c", `source ${file}; ${script}`], { encoding: "utf8" })
    assert.include(bash("complete -p ai-billing").stdout, "-F _ai-billing_bash_completions")
    // What bash does on <TAB>: the words so far in COMP_WORDS, the function called with the command name.
    const complete = (...words: ReadonlyArray<string>) =>
      bash(
        `COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; ` +
          `_ai-billing_bash_completions ai-billing; echo "\${COMPREPLY[*]}"`
      ).stdout.trim().split(/\s+/)
    assert.deepStrictEqual(complete("ai-billing", "cust"), ["customers"])
    assert.deepStrictEqual(complete("ai-billing", "customers", "l").sort(), ["link", "list"])
    assert.deepStrictEqual(complete("ai-billing", "sync-usage", "--d").sort(), ["--deadline", "--dry-run"])
    assert.deepStrictEqual(complete("ai-billing", "replay-events", "--s"), ["--since"])
    assert.include(complete("ai-billing", "local", "usage", ""), "add")
    assert.include(complete("ai-billing", "customers", "unlink", "--"), "--close")
  })
})
