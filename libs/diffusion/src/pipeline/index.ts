// The in-process pipeline (DESIGN.md §9): the request, the composition of the stages, local artifacts.
export * from './pipeline-request';
export * from './run-pipeline';
export * from './local-artifacts';
export * from './encode-init-latents';
export * from './inspect-model-folder';
