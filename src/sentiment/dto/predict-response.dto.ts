import { ApiProperty, ApiPropertyOptional, ApiSchema, getSchemaPath } from '@nestjs/swagger';

@ApiSchema({ name: 'LabelScore', description: 'The score of one label for one text.' })
export class LabelScoreDto {
  @ApiProperty({ description: 'A label of the model (from its `id2label`).', example: 'POSITIVE' })
  label!: string;

  @ApiProperty({
    description:
      'The label’s score under the request’s `function_to_apply`: with `softmax` (the default for single-label ' +
      'models) a probability, the scores of a text summing to 1; with `sigmoid` a probability of its own, 0 to 1; ' +
      'with `none` the raw logit, any real number.',
    example: 0.9998,
  })
  score!: number;
}

@ApiSchema({ name: 'PredictDetail', description: 'How one text was answered.' })
export class PredictDetailDto {
  @ApiProperty({
    description: 'The text’s length in tokens, special tokens included, before any cut.',
    type: 'integer',
    minimum: 0,
    example: 5,
  })
  tokens!: number;

  @ApiProperty({
    description:
      'Whether the text was longer than the model’s maximum and cut to fit (never with `long_text: "chunk"`).',
    example: false,
  })
  truncated!: boolean;

  @ApiProperty({
    description:
      'Where the answer came from: `hit` the cache, `miss` the model, `bypass` the model with the cache unavailable.',
    enum: ['hit', 'miss', 'bypass'],
    example: 'miss',
  })
  cache!: 'hit' | 'miss' | 'bypass';

  @ApiPropertyOptional({
    description:
      'Only with `long_text: "chunk"`: the windows the text was read in, 1 when it fits the model (`tokens` at most ' +
      '`maxSequenceLength`).',
    type: 'integer',
    minimum: 1,
    example: 2,
  })
  windows?: number;
}

@ApiSchema({ name: 'PredictResponse', description: 'One prediction per submitted text, in request order.' })
export class PredictResponseDto {
  @ApiProperty({
    description: 'Name of the model that answered (the last segment of its id).',
    example: 'distilbert-base-uncased-finetuned-sst-2-english',
  })
  model!: string;

  @ApiProperty({
    description:
      '`predictions[i]` answers `text[i]`: the labels of the model (all, or the `top_k` highest), sorted by score, ' +
      'highest first.',
    type: 'array',
    items: { type: 'array', items: { $ref: getSchemaPath(LabelScoreDto) } },
  })
  predictions!: LabelScoreDto[][];

  @ApiPropertyOptional({
    description: 'Only with `details: true`: `details[i]` describes how `text[i]` was answered.',
    type: [PredictDetailDto],
  })
  details?: PredictDetailDto[];
}
