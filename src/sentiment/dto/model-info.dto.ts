import { ApiProperty } from '@nestjs/swagger';

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

  @ApiProperty({ description: 'Weight precision.', enum: ['fp32', 'q8'] })
  dtype!: string;

  @ApiProperty({ description: 'Longer inputs are truncated to this many tokens.', example: 512 })
  maxSequenceLength!: number;

  @ApiProperty({ description: 'Most texts accepted in one request (MAX_BATCH_SIZE).', example: 1000 })
  maxBatchSize!: number;

  @ApiProperty({ description: 'Most characters accepted per text (MAX_TEXT_CHARS).', example: 10000 })
  maxTextChars!: number;

  @ApiProperty({ description: 'Inference runtime.', example: 'onnxruntime-node' })
  backend!: string;

  @ApiProperty({ description: 'ONNX Runtime intra-op threads.', example: 2 })
  threads!: number;

  @ApiProperty({ description: 'Milliseconds from the start of loading until the model was warmed up.', example: 850 })
  loadTimeMs!: number;
}
