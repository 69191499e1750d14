import { Body, Controller, Get, HttpCode, Post, Res } from '@nestjs/common';
import { ApiExtraModels, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ModelInfoDto } from './dto/model-info.dto.js';
import { PredictRequestDto } from './dto/predict-request.dto.js';
import { LabelScoreDto, PredictResponseDto } from './dto/predict-response.dto.js';
import { PredictRequestPipe } from './predict-request.pipe.js';
import { SentimentService } from './sentiment.service.js';

@ApiTags('sentiment')
@ApiExtraModels(LabelScoreDto)
@Controller('v1')
export class SentimentController {
  constructor(private readonly sentiment: SentimentService) {}

  @Post('sentiment/predict')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'predictSentiment',
    summary: 'Classify texts as POSITIVE or NEGATIVE',
    description: 'Answers every text with the confidence of each label, in request order.',
  })
  @ApiOkResponse({ type: PredictResponseDto })
  async predict(
    @Body(PredictRequestPipe) body: PredictRequestDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<PredictResponseDto> {
    const result = await this.sentiment.predict(body.text);
    void reply.header('x-cache', 'BYPASS');
    return result;
  }

  @Get('model')
  @ApiOperation({
    operationId: 'getModelInfo',
    summary: 'Describe the model being served',
    description: 'Model id, fingerprint, labels, dtype and the request limits.',
  })
  @ApiOkResponse({ type: ModelInfoDto })
  modelInfo(): ModelInfoDto {
    return this.sentiment.modelInfo();
  }
}
