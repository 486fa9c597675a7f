// The set-up script's WebGPU check (scripts/setup.sh; also run by the test suite): can Node get a WebGPU
// adapter and device from the `webgpu` package (Dawn)? Prints the adapter and exits 0, or says why not and exits
// 2 (no adapter or no device: a Vulkan/Metal/D3D12 driver is missing, or Dawn rejected it, as it rejects
// Debian bookworm's own Mesa 22.3) or 3 (the `webgpu` package is not installed: run npm ci first).
// AGAVE_SETUP_FORCE_NO_ADAPTER=1 makes it report no adapter without asking (for testing the set-up script's
// install branch with --dry-run).
if (process.env.AGAVE_SETUP_FORCE_NO_ADAPTER === '1') {
  console.log('webgpu check: no adapter (forced by AGAVE_SETUP_FORCE_NO_ADAPTER=1)');
  process.exit(2);
}
let mod;
try {
  mod = await import('webgpu');
} catch (e) {
  console.log(`webgpu check: the 'webgpu' package (Dawn for Node) cannot be loaded: ${String(e?.message ?? e).split('\n')[0]}; run npm ci first`);
  process.exit(3);
}
const gpu = mod.create([]);
let adapter = null;
try {
  adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
} catch (e) {
  console.log(`webgpu check: requestAdapter failed: ${e?.message ?? e}`);
}
if (!adapter) {
  console.log('webgpu check: no WebGPU adapter (no usable Vulkan / Metal / D3D12 driver)');
  process.exit(2);
}
const info = adapter.info ?? {};
const name = [info.vendor, info.architecture, info.device, info.description].filter((s) => s && s.length > 0).join(' / ') || 'unknown adapter';
try {
  const device = await adapter.requestDevice();
  device.destroy();
} catch (e) {
  console.log(`webgpu check: adapter ${name} found, but requestDevice failed: ${e?.message ?? e}`);
  process.exit(2);
}
console.log(`webgpu check: adapter ${name}`);
process.exit(0);
