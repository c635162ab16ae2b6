import { describe, expect, it } from 'vitest';
import { DEFAULT_STRENGTH, parseCliArguments } from './cli-arguments';
import { UsageError } from './cli-errors';

describe('parseCliArguments', () => {
  it('reads a generate command with every option into a request', () => {
    const command = parseCliArguments([
      'generate',
      'a red circle',
      '--negative-prompt',
      'blurry',
      '--seed',
      '42',
      '--steps',
      '30',
      '--guidance',
      '6.5',
      '--fps',
      '12',
      '--sampler',
      'dpmpp-2m',
      '--interp-steps',
      '3',
      '--sr-steps',
      '4',
      '--no-interp',
      '--no-sr',
      '--format',
      'mp4,gif',
      '--models',
      '/models',
      '-o',
      'out/clip.mp4',
      '--threads',
      '2',
    ]);
    expect(command).toEqual({
      kind: 'generate',
      request: {
        prompt: 'a red circle',
        negativePrompt: 'blurry',
        seed: 42,
        steps: 30,
        guidanceScale: 6.5,
        fps: 12,
        sampler: 'dpmpp-2m',
        interpSteps: 3,
        srSteps: 4,
        interpolate: false,
        superResolution: false,
        formats: ['mp4', 'gif'],
      },
      modelsDir: '/models',
      output: 'out/clip.mp4',
      threads: 2,
    });
  });

  it('leaves every default to the manifest when only a prompt is given', () => {
    expect(parseCliArguments(['generate', 'x'])).toEqual({ kind: 'generate', request: { prompt: 'x' } });
  });

  it('takes the format from the output path when --format is absent', () => {
    const command = parseCliArguments(['generate', 'x', '-o', 'clip.webm']);
    expect(command).toMatchObject({ request: { formats: ['webm'] } });
  });

  it('reads animate and edit with their init source and default strengths', () => {
    expect(parseCliArguments(['animate', 'cat.png', 'x'])).toMatchObject({
      kind: 'animate',
      initPath: 'cat.png',
      request: { prompt: 'x', init: { source: 'image', strength: DEFAULT_STRENGTH.animate } },
    });
    expect(parseCliArguments(['edit', 'in.mp4', 'x', '--strength', '0.6'])).toMatchObject({
      kind: 'edit',
      initPath: 'in.mp4',
      request: { init: { source: 'video', strength: 0.6 } },
    });
  });

  it('reads models validate and info with the folder as argument or --models', () => {
    expect(parseCliArguments(['models', 'validate', 'dir'])).toEqual({ kind: 'models-validate', modelsDir: 'dir' });
    expect(parseCliArguments(['models', 'info', '--models', 'dir'])).toEqual({ kind: 'models-info', modelsDir: 'dir' });
    expect(parseCliArguments(['models', 'info'])).toEqual({ kind: 'models-info' });
  });

  it('answers --help for every command', () => {
    for (const argv of [['--help'], ['help'], ['generate', '--help'], ['models', '-h']]) {
      expect(parseCliArguments(argv)).toEqual({ kind: 'help' });
    }
  });

  it.each([
    [[], /no command given/],
    [['paint', 'x'], /unknown command "paint"/],
    [['generate'], /generate takes "prompt", got none/],
    [['generate', 'a', 'b'], /generate takes "prompt", got "a" "b"/],
    [['animate', 'x'], /animate takes IMAGE "prompt"/],
    [['generate', 'x', '--sampler', 'plms'], /unknown sampler "plms"/],
    [['generate', 'x', '--steps', '1e'], /--steps expects a number, got "1e"/],
    [['generate', 'x', '--seed', ''], /--seed expects a number/],
    [['generate', 'x', '--format', 'mp4,mov'], /unknown format "mov"/],
    [['generate', 'x', '--strength', '0.5'], /--strength needs an init image or video/],
    [['generate', 'x', '--threads', '0'], /--threads expects a whole number/],
    [['generate', 'x', '--steps'], /--steps <value>' argument missing/],
    [['generate', 'x', '--loud'], /Unknown option '--loud'/],
    [['models'], /models takes validate or info, got nothing/],
    [['models', 'validate', 'a', 'b'], /takes one folder/],
    [['models', 'validate', 'a', '--models', 'b'], /give the folder once/],
  ])('rejects %j as a usage error', (argv, message) => {
    expect(() => parseCliArguments(argv)).toThrow(UsageError);
    expect(() => parseCliArguments(argv)).toThrow(message);
  });
});
