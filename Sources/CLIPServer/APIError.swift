import Foundation
import Hummingbird

/// An error answered as `{"error": {"message", "type", "code"}}` (OpenAI's error shape), with
/// the HTTP status that says what went wrong.
public struct APIError: Error, HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var message: String
    /// OpenAI's error class: `invalid_request_error`, `rate_limit_error`, `server_error`, ...
    public var type: String
    /// A stable machine-readable reason (also the `reason` label of `clip_request_failures_total`).
    public var code: String
    /// Seconds a client should wait before retrying (sent as `Retry-After`).
    public var retryAfter: Int?

    public init(_ status: HTTPResponse.Status, _ message: String, type: String, code: String, retryAfter: Int? = nil) {
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.retryAfter = retryAfter
    }

    /// 422: a request that is valid JSON-wise or not, but not what the endpoint takes.
    static func invalid(_ message: String, code: String = "invalid_request") -> APIError {
        APIError(.unprocessableContent, message, type: "invalid_request_error", code: code)
    }

    /// 400: an input (an image) that cannot be decoded.
    static func badInput(_ message: String, code: String) -> APIError {
        APIError(.badRequest, message, type: "invalid_request_error", code: code)
    }

    static func payloadTooLarge(_ limit: Int) -> APIError {
        APIError(
            .contentTooLarge, "the request body is larger than the server's limit of \(limit) bytes",
            type: "invalid_request_error", code: "payload_too_large")
    }

    static let queueFull = APIError(
        .tooManyRequests, "the server is busy: too many requests are waiting for the model; retry shortly",
        type: "rate_limit_error", code: "queue_full", retryAfter: 1)

    static let loading = APIError(
        .serviceUnavailable, "the model is still loading", type: "server_error", code: "model_loading", retryAfter: 1)

    struct Body: Encodable {
        struct Detail: Encodable {
            var message: String
            var type: String
            var code: String
        }
        var error: Detail
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        let data = try encoder.encode(Body(error: .init(message: message, type: type, code: code)))
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// Turns every error a route or Hummingbird throws (unknown path, wrong method, oversized body)
/// into an ``APIError`` so that every failure has the same JSON shape, and counts it.
struct APIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let started = ContinuousClock.now
        let path = request.uri.path
        do {
            let response = try await next(request, context)
            metrics.finished(path: path, status: response.status.code, reason: nil, since: started)
            return response
        } catch let error as APIError {
            metrics.finished(path: path, status: error.status.code, reason: error.code, since: started)
            throw error
        } catch let error as HTTPError {
            let mapped: APIError
            switch error.status {
            case .notFound:
                mapped = APIError(
                    .notFound, "no route \(request.method) \(path)", type: "invalid_request_error", code: "not_found")
            case .contentTooLarge:
                mapped = APIError(
                    .contentTooLarge, "the request body is too large", type: "invalid_request_error",
                    code: "payload_too_large")
            default:
                mapped = APIError(
                    error.status, error.body ?? error.status.reasonPhrase, type: "invalid_request_error",
                    code: "http_\(error.status.code)")
            }
            metrics.finished(path: path, status: mapped.status.code, reason: mapped.code, since: started)
            throw mapped
        } catch {
            let mapped = APIError(
                .internalServerError, "internal error: \(error)", type: "server_error", code: "internal_error")
            metrics.finished(path: path, status: mapped.status.code, reason: mapped.code, since: started)
            throw mapped
        }
    }
}
