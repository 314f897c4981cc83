//! Sans-I/O: the AWS WAFv2 model (parse, validate, capacity), compiled into an evaluation plan that decides allow/block/count for each request.
