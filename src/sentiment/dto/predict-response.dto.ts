import { ApiProperty, ApiSchema, getSchemaPath } from '@nestjs/swagger';

@ApiSchema({ name: 'LabelScore', description: 'The confidence of one label for one text.' })
export class LabelScoreDto {
  @ApiProperty({ description: 'A label of the model.', example: 'POSITIVE' })
  label!: string;

  @ApiProperty({
    description: 'Softmax probability of the label; the scores of one text sum to 1.',
    minimum: 0,
    maximum: 1,
    example: 0.9998,
  })
  score!: number;
}

@ApiSchema({ name: 'PredictResponse', description: 'One prediction per submitted text, in request order.' })
export class PredictResponseDto {
  @ApiProperty({
    description: 'Name of the model that answered (the last segment of its id).',
    example: 'distilbert-base-uncased-finetuned-sst-2-english',
  })
  model!: string;

  @ApiProperty({
    description: '`predictions[i]` answers `text[i]`: every label of the model, sorted by score, highest first.',
    type: 'array',
    items: { type: 'array', items: { $ref: getSchemaPath(LabelScoreDto) } },
  })
  predictions!: LabelScoreDto[][];
}
