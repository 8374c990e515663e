/**
 * esbuild settings of the Lambda bundles, shared by `bin/bundle` and the bench: ESM, minified,
 * `node22`, every dependency (the AWS SDK included) bundled, deep imports so unused code is dropped.
 * The "naive" variant rewrites every deep import to the package's barrel, to measure what deep
 * imports save.
 *
 * @since 0.1.0
 */
import { build, type Metafile, type Plugin } from "esbuild"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

/** The package directory (`packages/lambda`). @since 0.1.0 @category constants */
export const packageDir = fileURLToPath(new URL("../../", import.meta.url))

/**
 * Each bundle must stay under this many bytes: smaller bundles start faster (cold init). 1 MB plus
 * room for the schedule's EventBridge client (spend alerts) and plan repair, about 10 kB each, and
 * some headroom; the schedule bundle, the largest, was 1,010,303 bytes when this was set.
 * @since 0.2.0 @category constants
 */
export const budgetBytes = 1_040_000

/** The handlers, each an entry in `dist/handlers`. @since 0.1.0 @category constants */
export const handlers = ["webhook", "schedule", "usage", "coordinator", "worker"] as const

/** A handler's name. @since 0.1.0 @category models */
export type Handler = (typeof handlers)[number]

/** Where a handler's production bundle is written. @since 0.1.0 @category utils */
export const bundlePath = (handler: Handler, root = Path.join(packageDir, "dist-bundle")): string =>
  Path.join(root, handler, "index.mjs")

// Some bundled CommonJS code calls `require` for Node built-ins; ESM output has none, so give it one.
const banner = "import{createRequire as __cr}from\"node:module\";const require=__cr(import.meta.url);"

const deepImport = /^(@augint-billing\/[a-z-]+|effect)\/([A-Za-z]+)$/

/** Rewrite `pkg/Module` to `import { Module } from "pkg"`: every import goes through the barrel. */
const barrelImports: Plugin = {
  name: "barrel-imports",
  setup(b) {
    b.onResolve({ filter: deepImport }, (args) => ({ path: args.path, namespace: "barrel" }))
    b.onLoad({ filter: /.*/, namespace: "barrel" }, async (args) => {
      const [, pkg, name] = deepImport.exec(args.path)!
      const keys = Object.keys(await import(args.path) as object).filter((k) => k !== "default")
      const lines = [`import { ${name} as ns } from ${JSON.stringify(pkg)}`]
      keys.forEach((key, i) => lines.push(`const v${i} = ns[${JSON.stringify(key)}]`))
      lines.push(`export { ${keys.map((key, i) => `v${i} as ${JSON.stringify(key)}`).join(", ")} }`)
      return { contents: lines.join("\n"), resolveDir: packageDir, loader: "js" }
    })
  }
}

const barrelImport = /import\s*\{([^}]*)\}\s*from\s*"(effect|@augint-billing\/[a-z-]+)";?/g

/**
 * `import { A, pipe as p } from "effect"` as `import * as A from "effect/A"; import { pipe as p } from "effect/Function"`.
 * @since 0.1.0 @category utils
 */
export const toDeepImports = (source: string): string =>
  source.replace(
    barrelImport,
    (_, names: string, pkg: string) =>
      names.split(",").map((s) => s.trim()).filter((s) => s.length > 0 && !s.startsWith("type ")).map((spec) => {
        const [name, alias = name] = spec.split(/\s+as\s+/) as [string, string?]
        // Modules are PascalCase; the barrels' lower-case exports are effect's `Function` helpers (pipe, identity).
        return /^[A-Z]/.test(name)
          ? `import * as ${alias} from "${pkg}/${name}";`
          : `import { ${name} as ${alias} } from "${pkg}/Function";`
      }).join("")
  )

/**
 * Our packages import from barrels (`import { Effect } from "effect"`), which esbuild cannot shake
 * below whole modules' namespace objects; rewritten to deep imports, only what is used is bundled.
 */
const deepImports: Plugin = {
  name: "deep-imports",
  setup(b) {
    b.onLoad({ filter: /[\\/]packages[\\/][a-z-]+[\\/]dist[\\/].*\.js$/ }, async (args) => ({
      contents: toDeepImports(await Fs.promises.readFile(args.path, "utf8")),
      loader: "js"
    }))
  }
}

/** What bundling one handler produced. @since 0.1.0 @category models */
export interface Bundle {
  readonly handler: Handler
  readonly outfile: string
  readonly bytes: number
  readonly metafile: Metafile
}

/** Bundle one handler from its compiled entry (`dist/handlers/<handler>.js`). @since 0.1.0 @category utils */
export const bundle = async (
  handler: Handler,
  options: { readonly naive?: boolean; readonly outfile?: string } = {}
): Promise<Bundle> => {
  const outfile = options.outfile ?? bundlePath(handler)
  const result = await build({
    entryPoints: [Path.join(packageDir, "dist", "handlers", `${handler}.js`)],
    outfile,
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node22",
    minify: true,
    treeShaking: true,
    mainFields: ["module", "main"],
    legalComments: "none",
    banner: { js: banner },
    metafile: true,
    logLevel: "warning",
    plugins: [options.naive === true ? barrelImports : deepImports]
  })
  return { handler, outfile, bytes: Fs.statSync(outfile).size, metafile: result.metafile }
}
