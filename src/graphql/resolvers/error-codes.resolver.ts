import { Query, Resolver } from 'type-graphql';
import { catalogDocument } from '../../api/error-reference.js';
import { ErrorCodeInfo } from '../types/error-code.type.js';

@Resolver()
export class ErrorCodesResolver {
  @Query(() => [ErrorCodeInfo], { description: 'The error catalog, as GET /auth/error-codes serves it.' })
  errorCodes(): ErrorCodeInfo[] {
    return catalogDocument().codes.map(({ graphql_fields, ...rest }) => ({ ...rest, graphqlFields: graphql_fields }));
  }
}
