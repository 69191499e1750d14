import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';

@ApiSchema({ name: 'CacheInfo', description: 'Where predictions are cached and for how long.' })
export class CacheInfoDto {
  @ApiProperty({
    description: 'Redis when REDIS_URL is set, else an in-memory LRU inside the process.',
    enum: ['redis', 'memory'],
  })
  backend!: 'redis' | 'memory';

  @ApiProperty({
    type: 'integer',
    description: 'Seconds a cached prediction lives (CACHE_TTL_SECONDS).',
    example: 3600,
  })
  ttlSeconds!: number;
}

@ApiSchema({ name: 'ModelInfo', description: 'The model being served and the request limits.' })
export class ModelInfoDto {
  @ApiProperty({ description: 'Full model id.', example: 'Xenova/distilbert-base-uncased-finetuned-sst-2-english' })
  id!: string;

  @ApiProperty({
    description: 'Name reported in predict responses.',
    example: 'distilbert-base-uncased-finetuned-sst-2-english',
  })
  name!: string;

  @ApiProperty({
    description: 'Where the files came from: local folder, hub download, or the generated lexicon baseline.',
    enum: ['local', 'hub', 'baseline'],
  })
  source!: string;

  @ApiProperty({
    description: 'Content hash of the ONNX file (first 16 hex digits of its SHA-256): the revision actually served.',
    example: '3f1c0a9b2d4e5f60',
  })
  fingerprint!: string;

  @ApiProperty({ description: 'Labels of the model, in logit order.', example: ['NEGATIVE', 'POSITIVE'] })
  labels!: string[];

  @ApiPropertyOptional({
    description: 'The model config’s `problem_type`, when it states one.',
    example: 'single_label_classification',
  })
  problemType?: string;

  @ApiProperty({
    description:
      'How scores are computed when a request leaves `function_to_apply` at `default`: `sigmoid` for a multi-label ' +
      'model (or one with a single label), `softmax` otherwise.',
    enum: ['softmax', 'sigmoid', 'none'],
    example: 'softmax',
  })
  scoreFunction!: string;

  @ApiProperty({ description: 'Weight precision.', enum: ['fp32', 'q8'] })
  dtype!: string;

  @ApiProperty({
    type: 'integer',
    description: 'Longer texts are cut to this many tokens (or refused with `truncate: false`).',
    example: 512,
  })
  maxSequenceLength!: number;

  @ApiProperty({ type: 'integer', description: 'Most texts accepted in one request (MAX_BATCH_SIZE).', example: 1000 })
  maxBatchSize!: number;

  @ApiProperty({ type: 'integer', description: 'Most characters accepted per text (MAX_TEXT_CHARS).', example: 10000 })
  maxTextChars!: number;

  @ApiProperty({ description: 'Inference runtime.', example: 'onnxruntime-node' })
  backend!: string;

  @ApiProperty({ type: 'integer', description: 'ONNX Runtime intra-op threads.', example: 2 })
  threads!: number;

  @ApiProperty({
    type: 'integer',
    description: 'Milliseconds from the start of loading until the model was warmed up.',
    example: 850,
  })
  loadTimeMs!: number;

  @ApiProperty({ description: 'The per-text prediction cache.', type: CacheInfoDto })
  cache!: CacheInfoDto;
}
