import contractJson from './model-folder.contract.json';

/**
 * The model-folder contract (DESIGN.md §5, docs/models.md) as shipped: the one JSON file both
 * halves read. Typed `unknown` on purpose: parse it once at start with libs/diffusion's
 * `parseModelFolderContract`, which checks its shape, then pass the result in.
 */
export const modelFolderContractJson: unknown = contractJson;
