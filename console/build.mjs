// Bundles the console (src/main.ts, its CSS and uPlot's) with esbuild into one JS and one CSS file, and copies the
// page, into ../server/console/static/ (or the folder given as the first argument: the test that compares a fresh
// build with the committed files builds into a temporary folder).
import * as esbuild from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const outdir = resolve(process.argv[2] ?? join(here, "..", "server", "console", "static"));
mkdirSync(outdir, { recursive: true });
await esbuild.build({
  absWorkingDir: here,
  entryPoints: ["src/main.ts"],
  bundle: true,
  minify: true,
  format: "iife",
  target: ["chrome111", "firefox115", "safari16"],
  outfile: join(outdir, "console.js"),
  legalComments: "eof",
  charset: "utf8",
  logLevel: "warning",
});
copyFileSync(join(here, "src", "index.html"), join(outdir, "index.html"));
