using MaestroSla.Api.Security;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Scalar.AspNetCore;

namespace MaestroSla.Api.OpenApi;

/// <summary>The OpenAPI document (/openapi/v1.json) and its reference UI (/docs); both anonymous, like the probes.</summary>
public static class OpenApiRegistration
{
    public const string DocumentPath = "/openapi/v1.json";
    public const string UiPath = "/docs";

    public static IHostApplicationBuilder AddMaestroOpenApi(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOpenApi(options =>
        {
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info.Title = "MaestroSla";
                document.Info.Description =
                    "Telemetry ingest and SLA reports. Send an API key in the X-Api-Key header; roles: ingest, read, admin.";
                document.Components ??= new OpenApiComponents();
                document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
                document.Components.SecuritySchemes[ApiKeyAuthentication.SchemeName] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.ApiKey,
                    In = ParameterLocation.Header,
                    Name = ApiKeyAuthentication.HeaderName,
                    Description = "An API key; its SHA-256 is configured under Security:ApiKeys.",
                };
                return Task.CompletedTask;
            });
            options.AddOperationTransformer((operation, context, _) =>
            {
                var policies = context.Description.ActionDescriptor.EndpointMetadata.OfType<IAuthorizeData>().Select(a => a.Policy).OfType<string>().ToList();
                if (policies.Count > 0)
                {
                    operation.Security ??= [];
                    operation.Security.Add(new OpenApiSecurityRequirement
                    {
                        [new OpenApiSecuritySchemeReference(ApiKeyAuthentication.SchemeName, context.Document)] = [],
                    });
                    operation.Description = $"{operation.Description}{(string.IsNullOrEmpty(operation.Description) ? "" : "\n\n")}Needs an API key with role: {string.Join(", ", policies)}"
                        + (policies.Contains(ApiRoles.Admin) ? "." : " (or admin).");
                }
                return Task.CompletedTask;
            });
        });
        return builder;
    }

    public static WebApplication MapMaestroOpenApi(this WebApplication app)
    {
        app.MapOpenApi("/openapi/{documentName}.json");
        app.MapScalarApiReference(UiPath, options => options
            .WithTitle("MaestroSla API")
            .WithOpenApiRoutePattern("/openapi/{documentName}.json"));
        return app;
    }
}
