// scripts/setup.sh (the README's first step): its WebGPU adapter check on this machine, and, without
// installing anything (--dry-run with the check forced to fail), what it would do on Debian (lavapipe from
// <codename>-backports), on Ubuntu (from the distribution's archive), on another Linux and on macOS (what to
// install, exit 1). The apt install itself is not run here.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

function setup(args: string[], env: Record<string, string> = {}): { rc: number | null; out: string } {
  const r = spawnSync('bash', ['scripts/setup.sh', ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
  return { rc: r.status, out: `${r.stdout}${r.stderr}` };
}

function osRelease(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'agave-os-release-'));
  const p = join(dir, 'os-release');
  writeFileSync(p, text);
  return p;
}

describe('scripts/setup.sh', () => {
  it('finds the WebGPU adapter the tests run on (--check-only: no npm ci, no build)', () => {
    const r = setup(['--check-only']);
    expect(r.out, r.out).toMatch(/webgpu check: adapter .+/);
    expect(r.out).toMatch(/== setup: ready/);
    expect(r.rc, r.out).toBe(0);
  });

  it('without an adapter, says what it would install per platform and installs nothing (--dry-run)', () => {
    const forced = { AGAVE_SETUP_FORCE_NO_ADAPTER: '1' };
    const debian = setup(['--check-only', '--dry-run'], { ...forced, AGAVE_OS_RELEASE: osRelease('ID=debian\nVERSION_CODENAME=bookworm\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n') });
    expect(debian.out, debian.out).toMatch(/would install .*Mesa lavapipe \(a CPU Vulkan driver: mesa-vulkan-drivers libvulkan1\) from bookworm-backports/);
    expect(debian.out).toMatch(/would run: .*apt-get install -y -qq --no-install-recommends -t bookworm-backports mesa-vulkan-drivers libvulkan1/);
    expect(debian.rc).toBe(1);
    const ubuntu = setup(['--check-only', '--no-install'], { ...forced, AGAVE_OS_RELEASE: osRelease('ID=ubuntu\nID_LIKE=debian\nVERSION_CODENAME=noble\nPRETTY_NAME="Ubuntu 24.04 LTS"\n') });
    expect(ubuntu.out, ubuntu.out).toMatch(/from the archive of Ubuntu 24.04 LTS/);
    expect(ubuntu.out).toMatch(/would run: .*apt-get install -y -qq --no-install-recommends mesa-vulkan-drivers libvulkan1/);
    expect(ubuntu.out).not.toMatch(/backports/);
    expect(ubuntu.rc).toBe(1);
    const fedora = setup(['--check-only'], { ...forced, AGAVE_OS_RELEASE: osRelease('ID=fedora\nPRETTY_NAME="Fedora Linux 40"\n') });
    expect(fedora.out, fedora.out).toMatch(/no WebGPU adapter on Fedora Linux 40: install a Vulkan driver/);
    expect(fedora.out).toMatch(/sudo dnf install mesa-vulkan-drivers/);
    expect(fedora.out).not.toMatch(/would run|apt-get/);
    expect(fedora.rc).toBe(1);
    const mac = setup(['--check-only'], { ...forced, AGAVE_UNAME: 'Darwin' });
    expect(mac.out, mac.out).toMatch(/Dawn uses Metal/);
    expect(mac.rc).toBe(1);
    expect(setup(['--bogus']).out).toMatch(/unknown option '--bogus'/);
  });
});
