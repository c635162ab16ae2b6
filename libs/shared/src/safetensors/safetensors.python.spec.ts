import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSafetensorsFile, type Tensor, writeSafetensorsFile } from './safetensors';

/** The elements of a tensor of any dtype, for assertions. */
const valuesOf = (tensor: Tensor | undefined): (number | bigint)[] => Array.from(tensor?.data as ArrayLike<number | bigint>);

// DESIGN.md §4: Python's `safetensors` must read our files with no code of ours, and we read its files.
const run = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, '../../../..');
const python = path.join(repoRoot, '.venv/bin/python');
const hasVenv = existsSync(python);

describe.skipIf(!hasVenv)(`safetensors interoperability with Python (needs ${python}; run tools/python-env.sh)`, () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'mv-safetensors-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('Python reads every dtype and the metadata of a file we wrote', async () => {
    const file = path.join(dir, 'from-ts.safetensors');
    await writeSafetensorsFile(
      file,
      {
        latents: { dtype: 'F32', shape: [1, 2, 2], data: Float32Array.of(0.5, -1.25, 3, 1e-3) },
        half: { dtype: 'F16', shape: [3], data: Uint16Array.of(0x3c00, 0xc000, 0x3555) }, // 1, -2, ~0.333
        frames: { dtype: 'U8', shape: [2, 1, 1, 3], data: Uint8Array.of(0, 1, 2, 253, 254, 255) },
        input_ids: { dtype: 'I64', shape: [2], data: BigInt64Array.of(49406n, -9007199254740993n) },
        fps: { dtype: 'I32', shape: [], data: Int32Array.of(-7) },
      },
      { stage: 'keyframe', seed: '42' },
    );
    const script = `
import json, sys
from safetensors import safe_open
out = {}
with safe_open(sys.argv[1], framework="numpy") as f:
    out["__metadata__"] = f.metadata()
    for name in f.keys():
        t = f.get_tensor(name)
        out[name] = {"dtype": str(t.dtype), "shape": list(t.shape), "values": [str(v) for v in t.reshape(-1).tolist()]}
print(json.dumps(out))
`;
    const { stdout } = await run(python, ['-c', script, file]);
    expect(JSON.parse(stdout)).toEqual({
      __metadata__: { stage: 'keyframe', seed: '42' },
      latents: { dtype: 'float32', shape: [1, 2, 2], values: ['0.5', '-1.25', '3.0', String(Math.fround(1e-3))] },
      half: { dtype: 'float16', shape: [3], values: ['1.0', '-2.0', '0.333251953125'] },
      frames: { dtype: 'uint8', shape: [2, 1, 1, 3], values: ['0', '1', '2', '253', '254', '255'] },
      input_ids: { dtype: 'int64', shape: [2], values: ['49406', '-9007199254740993'] },
      fps: { dtype: 'int32', shape: [], values: ['-7'] },
    });
  });

  it('we read a file Python wrote', async () => {
    const file = path.join(dir, 'from-python.safetensors');
    const script = `
import sys
import numpy as np
from safetensors.numpy import save_file
save_file({
    "cond": np.arange(6, dtype=np.float32).reshape(1, 2, 3) / 4,
    "half": np.array([0.5, -65504], dtype=np.float16),
    "frames": np.array([[7, 8, 9]], dtype=np.uint8),
    "timestep": np.array([999, -1], dtype=np.int64),
    "counts": np.array([[1], [-2]], dtype=np.int32),
}, sys.argv[1], metadata={"format": "np"})
`;
    await run(python, ['-c', script, file]);
    const { tensors, metadata } = await readSafetensorsFile(file);
    expect(metadata).toEqual({ format: 'np' });
    expect(tensors.cond).toMatchObject({ dtype: 'F32', shape: [1, 2, 3] });
    expect(valuesOf(tensors.cond)).toEqual([0, 0.25, 0.5, 0.75, 1, 1.25]);
    expect(tensors.half).toMatchObject({ dtype: 'F16', shape: [2] });
    expect(valuesOf(tensors.half)).toEqual([0x3800, 0xfbff]);
    expect(valuesOf(tensors.frames)).toEqual([7, 8, 9]);
    expect(tensors.frames!.shape).toEqual([1, 3]);
    expect(valuesOf(tensors.timestep)).toEqual([999n, -1n]);
    expect(tensors.counts).toMatchObject({ dtype: 'I32', shape: [2, 1] });
    expect(valuesOf(tensors.counts)).toEqual([1, -2]);
  });
});
