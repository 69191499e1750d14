import type { ModelInfoDto } from './model-info.dto.js';
import type { PredictRequestDto } from './predict-request.dto.js';
import type { PredictResponseDto } from './predict-response.dto.js';

/*
 * Examples shown in the OpenAPI document and prefilled in Swagger UI. The responses are real
 * answers of the offline baseline model (`BASELINE_PRESET=base`) to PREDICT_REQUEST_EXAMPLE; the
 * contract tests check that the service still answers them.
 */

export const PREDICT_REQUEST_EXAMPLE: PredictRequestDto = { text: ['I love you', 'I hate you'] };

export const PREDICT_RESPONSE_EXAMPLE: PredictResponseDto = {
  model: 'distilbert-sst2-afinn-baseline-base',
  predictions: [
    [
      { label: 'POSITIVE', score: 0.9900000104612775 },
      { label: 'NEGATIVE', score: 0.0099999895387225 },
    ],
    [
      { label: 'NEGATIVE', score: 0.9900000104612775 },
      { label: 'POSITIVE', score: 0.0099999895387225 },
    ],
  ],
};

/** The options most callers want: the winning label only, and how each text was read. */
export const PREDICT_OPTIONS_REQUEST_EXAMPLE: PredictRequestDto = {
  text: ['I love you', 'I hate you'],
  top_k: 1,
  details: true,
};

export const PREDICT_OPTIONS_RESPONSE_EXAMPLE: PredictResponseDto = {
  model: 'distilbert-sst2-afinn-baseline-base',
  predictions: [[{ label: 'POSITIVE', score: 0.9900000104612775 }], [{ label: 'NEGATIVE', score: 0.9900000104612775 }]],
  details: [
    { tokens: 5, truncated: false, cache: 'miss' },
    { tokens: 5, truncated: false, cache: 'miss' },
  ],
};

/**
 * A review whose verdict comes after the model's 512 tokens (782 in all): cut (the default), both
 * labels score 0.5; read whole with `long_text: "chunk"`, in two windows, the verdict counts.
 */
export const PREDICT_LONG_TEXT_REQUEST_EXAMPLE: PredictRequestDto = {
  text: [`${'The plot takes its time. '.repeat(100)}${'I loved the ending, it is wonderful. '.repeat(20)}`.trim()],
  long_text: 'chunk',
  details: true,
};

export const PREDICT_LONG_TEXT_RESPONSE_EXAMPLE: PredictResponseDto = {
  model: 'distilbert-sst2-afinn-baseline-base',
  predictions: [
    [
      { label: 'POSITIVE', score: 0.7642464954100477 },
      { label: 'NEGATIVE', score: 0.23575350458995217 },
    ],
  ],
  details: [{ tokens: 782, truncated: false, cache: 'miss', windows: 2 }],
};

export const MODEL_INFO_EXAMPLE: ModelInfoDto = {
  id: 'sentiment-api/distilbert-sst2-afinn-baseline-base',
  name: 'distilbert-sst2-afinn-baseline-base',
  source: 'local',
  fingerprint: '4dfcda688fa490f5',
  labels: ['NEGATIVE', 'POSITIVE'],
  problemType: 'single_label_classification',
  scoreFunction: 'softmax',
  dtype: 'fp32',
  maxSequenceLength: 512,
  maxBatchSize: 1000,
  maxTextChars: 10000,
  backend: 'onnxruntime-node',
  threads: 2,
  loadTimeMs: 4244,
  cache: { backend: 'memory', ttlSeconds: 3600 },
};
