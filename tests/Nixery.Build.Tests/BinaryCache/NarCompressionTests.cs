using System.Buffers.Binary;
using System.Security.Cryptography;
using Nixery.Build.BinaryCache;

namespace Nixery.Build.Tests.BinaryCache;

/// <summary>
/// NARs as binary caches serve them. The fixtures are real: <c>nix copy</c> (Nix 2.8) wrote the same two store paths
/// to caches with <c>compression=xz</c>, <c>zstd</c>, <c>bzip2</c>, <c>gzip</c> and <c>none</c>, and every one must
/// uncompress to what <c>nix-store --dump</c> writes. The 4 MiB multi-block xz stream was made with
/// <c>xz -6 --block-size=1MiB</c> from <see cref="PatternedData"/>. Bad data of any kind is an
/// <see cref="InvalidDataException"/>; a failing source stream fails as itself. Every test runs twice: here with xz
/// through the system's liblzma, in <see cref="NarCompressionWithSharpCompressTests"/> through SharpCompress.
/// </summary>
public class NarCompressionTests
{
    // nixery-ref-test (a one-line file that names the greeting): its NAR is 184 bytes, NarHash
    // sha256:13vsf3c4qqk9s30pnpcnlxhyn98z0j6hrxfslz8sq6f87q63rhmr.
    private const string RefTestNarSha256 = "b9c23c0c3ec819acd1a7daf50c8d041f25eb61a7965d7bc1d069624cd8707a8f";
    private const string RefTestNar = "DQAAAAAAAABuaXgtYXJjaGl2ZS0xAAAAAQAAAAAAAAAoAAAAAAAAAAQAAAAAAAAAdHlwZQAAAAAHAAAAAAAAAHJlZ3VsYXIACAAAAAAAAABjb250ZW50c0MAAAAAAAAAcmVmZXJzIHRvIC9uaXgvc3RvcmUvbTI5aGQ2djl3c3lmd2xrYjljbmphcmkzOGF2NnoyZ2ItZ3JlZXRpbmcudHh0CgAAAAAAAQAAAAAAAAApAAAAAAAAAA==";

    // nixery-dir-test (a directory with an executable, a symlink and a 9 KB text file): its NAR is 10920 bytes,
    // NarHash sha256:18f3192qa21p0ds2jb2lq30m1adxminpdk329srjj8fsgr3k83qk.
    private const string DirTestNarSha256 = "130f34477eda2129b34e62cc766dacbda950c1c0542c297403370885450ac3a1";
    private const int DirTestNarSize = 10920;

    private static readonly Dictionary<string, string> RefTest = new(StringComparer.Ordinal)
    {
        ["xz"] = "/Td6WFoAAATm1rRGAgAhARYAAAB0L+Wj4AC3AHxdAAaANh/vps6/droaek8r6qRTJO2hIwRx/1u/l2m68ym+JEmkcF2PMAtHKBMzvRezszyuOLKsJc79dFkLXo8xHX++CXLSILhWrqX6L7pqRSeD9G6X9sZ+VyXbM+Q0wD8aqvV53E2uACc6u9exLbLL8PxIqTRmmQEExBnhDIwAMSVtlm+lxv4AAZgBuAEAAAFlBNaxxGf7AgAAAAAEWVo=",
        ["zstd"] = "KLUv/QBYNQQAIogbHUCNdcB3SDVDhBitQUZhjuLCnk4S8akzjPJx2Cem////cEJLjXgLW5Wfat4yYWZbKCA3xzrWPKDImWTEJtN42AJZyrHlkuAuJbYiWR3lM2Sv9kb3wblBkqd8wf9rZOoHbjjgf0LphI/jpiS4LwQJABNDQIBgwOhgIDAQGBgMDIwwgDY=",
        ["bzip2"] = "QlpoOTFBWSZTWRp7FcwAACDdgGzSQGO5YAgAP//f8CAAdRFDQMmh6mgaDQAaNNBqaJppmlHpMmTRiNBhHqenVjjWGusM3UkhAAzKgggcCGqc9UimOGSuc1mkvnqPc8iTLN3sK7eKl+ngAE+JBrEC+dhSnjcR81l6HjZyyEdFoLtoCmQY0/EJ8r1fze+XK61Ig4l7i7kinChIDT2K5gA=",
        ["gzip"] = "H4sIAFIfEGsAA+NlgIC8zArdxKLkjMyyVF1DIJ8RKq4BpVmgdEllQSqIZofyi1LTS3MSixg4oPzk/LyS1LySYme4fFpqUbFCSb6CPtAK/eKS/KJU/Vwjy4wUszLL8uLKtPKc7CTL5LysxKJMY4vEMrMqo/Qk3fSi1NSSzLx0vZKKEi6wOTD3aEJpAOgyPGC4AAAA",
        ["none"] = RefTestNar,
    };

    private static readonly Dictionary<string, string> DirTest = new(StringComparer.Ordinal)
    {
        ["xz"] = "/Td6WFoAAATm1rRGAgAhARYAAAB0L+Wj4CqnAlFdAAaANh/vps6/droaek8r6qRTJO2hIwRx/1u/l2m68ym+JXpxK+m02g1+mo+dXiRt4hQG2Q3fBgNl2mCa65AB1oHhhoJhXSCoEx5SSquQrcgp3cXSJkfotzl3zF/Nw52CaCByD0+cPmvvaUX55h4Q69B32YzL8DeN51kkNyI0IP4x8fC1ow2CxAqXH+n8WlcYz3pDVKrnneeNNw9sDplgk1AvYs3btFzUq/01nLq688wBgRE05hBxFxb+wDCE+2r3k0eTrZdzSksId2rqxI0xCeC6jl4cKIZxrpmhIq6/N/uyiHoHCCzcTLcQx1Bn3S+Jvy25wvLt3f//nyRxBx84W1FdOONl78IL0qS1mn+aFS0Mr3R3f6hJUuBN9ZS6CAu3jbPfHAc9bkvrSLj2r8giNLQAcYdboJgyBSJy66CjYBf0PnwxqZKadBKh4iUs7skf3zOomYmeSlp+VD6pH/frMLr0fRBv8eP0NPi5zJpVKQ5EPQ+uaTxAC6CvNOHtOytYGtCJ/FYOt7wGYm/yO280WIUjOxs/M7Y+wUO1OB7G0H6hvnUM74v8b7ZFDozqMrQDw7Fba7fhs6Ow0NJAM33NdNjhqCSTzRPMLfRc2XHfodj8QE9WMOCuadpVpEDMzoljL4PU765GpbJ1BdlVzWCB1o03ktHhbUKLg0gOgkGibrXKbyjLvrTOeYz8862OKkwgUgO7aQ85183JFOXxMSiYrxG5GtX6U3T6BUWsZKUX45i8KE+ohGXm3C9hwohqG4LxFcnbLsnLrIEHT1v2Oz9Okx8AAAAAAFTsyk3X75gkAAHtBKhVAADwp6d+scRn+wIAAAAABFla",
        ["zstd"] = "KLUv/QBY5RcAFiNsLXCnbQP8////f0TY/8eV/e+1jSbdKIn4/39USsmVmysdAy2osFs7ojbw40O1MmUAZgBfAHQ9EYz0gozl63TtIpl0UR7prTJFzSMiu9DJLAYOKLXAXvqXTs2BUkpi5E1oXvIIVaWUAH09TJL0kaHgTJROxqAh6aWvDGpSp9t8nY4SoJRS75hcBUAlUAWlFFM8ZEZNlQrJpGpA8iLQKTUm9vANR34NYCgknq9RxDCzKXCRMY8IfB6NPx7Ro0IsHe0YE0FyFxCd979CCgZiBQ2Rsc0qGbRxBkGKPBMbcUg7kXPjygZx7V9FnY5iUl8yqcJaB+SRnZBm4vxMxkwII2ID3d3d77333nvvOeecc84511prrbXWGjMzMzMzY4wxxhjzCPu5xgxBp2ntV0djapQ6PYrykHnnfcdXRSrPpCzl6ZQQEDg4IJrJMTAYEoUruYulmZzlq4zsslgUUOo+VAOFRKLg7u7u7h5jjDHGGCOEEEIIIYTd3d3d3e+999577znnnHPOOddaa6211hozMzMzM2OMMcYYW2uttdZai7m7u7u7xxhjjDHGCCGEEEIIYXd3gRCoYbwyIlKQkpIUKo0BIUciIkMpPBKoYGAYgiAIQvAJAULwCYGC8OItB8fMdSXUHq8bdBW/bXSAwIg5BgBMgDkmQ84IJCIBzogsM0MkgCQyQ2bEHIMAJsAckyFnBBKRAGdElpkhEkAuw/igmvyfBApJ+BMJNJDw5REoHOFHI9Awwj+LQAUUobvt39+3f3/+/vn99+7v278/f//8/nv39+3fn79/fv+9+/v278/fP7//3v09dvYYu//rcev+1cPU/afHpfs5egB6olXZthIvzhiNX4DUKmGyd9RnKwfmd0gnRil2TLEUBwXTq5WzFh7pG0NakP98zjUWO9Yif9MTRLCaGkU/Wfeok3WG4UxHARvIcHcWnYFQTPA88iePzmo18LQKE50vjy0H+jvg4M6Ne6GjJwBmddMOTbbwLRwwGfRoiRboIWVaRKA=",
        ["bzip2"] = "QlpoOTFBWSZTWXl6c1EAAdb5hH/yEIBqY//gP///8AAgUAPPGGcAuKBCSlMU/T1NU2o9BiT9IE000aNpAB6gimQJ/+qqE0MgaA0aaNDIaYmhoVvVIj3qYiqNGmgyaZGRiZDQ9BPUMBoAABoAAAAAAUqSaJ6ENKfkak/Um01D1HogPUABt6QOFfvx/GeYsFK4LEL9WIc7+gIVdOUzBiyCoxxXhhd+fg141Z1wp38Fle/AV+2eVQYxLvxLGKK/TF/ODGA6cGWIxKWFllcmqWQ4YOmmVj11VC1/1r9djrEWQi3oiiIonERREUaM0olxeXnn9PX20XEgC0mAsFIFYVAqBWFIFgmAtJAFxAAWkwFgpArCoFQKwpAsEwFpIA07DMzMzMzUAIFyAQK3jl8HCFNhdzs0SV1z3set+IL1fq6KVLGJGMYxjG573ve9750pHLNzhIQhCELxEpJJJK5RqAzUBmoDNQGagM1AZqAzUCje8alRmpWNIIiIiIUJJJK6AAAAAA3Z3/LO3Oa5znOcpZSSSvYAAAAA/ta4nSZnSZmZSUJJK+0AAADdWoBrGkREaxChJJ0kr7AAAAAAHq7u77Hd0kk6SvqAAAAABbdH+NkztmZ2zKSSUpX0xWoAAAABv9WNcYxjGMWwkkkpV6gAAUAAAWlR9X2O7u9rWta1rWcAAAAHOc7NhthU6YBAsOGpIQLSLAuYms19W2m7k6rdhs4vx+HLy5iLRlqnx5aLv2G6kWN/mvtnSsfP25dBFgRfREWGqqL5sHpg+7h1r3MxFrYEWTpy7BFs7OIiz2+zp7BBV5NNNtslBkg5TU6+zSUwt3bNTzOAgVrsYCBXI0zCLhyXPxy9MbdX/t/h6+VQvp256afUuFIvd7xF24EWPasRFjZeL255r4bG8b+W9yXkItwi3CLD4iLnXp3VvEXIRefl4bfLhzcRF25WV39wixz1m/nm1iLzEWjXocV3MePVv37ssxFu6ki1Xh3bNv2bMaMdnjs0cHVEXWItLiax991VUS0WToEC4SyNo7t7wxuKlaCleSJT+Mn+LuSKcKEg8vTmog==",
        ["gzip"] = "H4sIAFIfEGsAA8XayW7aUABGYarOSN10062rqlK7IPj3fB/HmGtsQmywHQh5w75VHTBRiBS1J61aNtY1FzwczPCJD6PjrSpvJmmTFeXWTtSPXwzrvw3LV8Oy26/t3fL9MJ6Xjc26utkP49fD0lbdYd1Tz1OlV4fneTmMZ2V1fn89P9z/r/bjNL+wq1X9jP14O4wbu7hepc1ofNr+jc2uu3S2sqOz27thmdVV1+9j+2MYf/k87U/FtC3GNitqp7Wr3Jn2caZtf3B2uozdaBcXuVu1u+W2nKnMPbPPtmVbmMW6bSf9VNvsJ/3pmHS27cZZ2j18/JVninm0Nbt2n+9WlzOTVcu0Kf0k3Ua33mI2WTTWdmW1uOhuzh54WS6DaJ16i2ZTbDYm2+TxbjNTEtz65WxWFKcNNzY/bng4ntN5+/7EmHZ6c3+e0/ndmud2avdXq7K6vH++Lm0WthuNPg3ji4u+Qdof+LzOpseN3Z2SXx7P3z7e0/zDzoz+3/Vxuk7703F+/z/ej9Pr6kGSZ+3P4+v18fX48etx3L9IrOM6de6kTmPX/bXR9W+RznHzTl43TlZfrRvbtmVdjQ+zhWZ7aLaPZgdodohmR2h2jGYnaLZhdWBMVlMsp1hPsaBiRcWSijUViypW1WNVPXiNsqoeq+qxqh6r6rGqHqvqsaoeq+qzqj6r6sO3XlbVZ1V9VtVnVX1W1WdVfVY1YFUDVjVgVQP4icqqBqxqwKoGrGrAqgasasiqhqxqyKqGrGoIvyixqiGrGrKqIasasqoRqxqxqhGrGrGqEasawe+/rGrEqkasasSqxqxqzKrGrGrMqsasasyqxvBnDasas6oxq5qwqgmrmrCqCauasKoJq5qwqgn8tcqqJqyqYVUNq2pYVcOqGlbVsKqGVTWsqoEIQRUCMoQLHcKFEOFCiXAhRbjQIlyIES7UCBdyhAv7YmaCfSk0UWmi1EStiWIT1SbKTdCbBMFJUJwEyUnQnATRSVCdBNlJ0J0E4UlQngTpSdCeBPFJUJ8E+UnQnwQBSlCgBAlK0KAEEUpQoQQZStChBCFKUKIEKUrQogQxSlCjBDlK0KMEQUpQpARJStCkBFFKUKUEWUrQpQRhSlCmBGlK0KYEcUpQpwR5StCnBIFKUKgEiUrQqASRSlCpBJlK0KkEoUpQqgSpStCqBLFKUKsEuUrQqwTBSlCsBMlK0KwE0UpQrQTZStCtBOFKUK4E6UrQrgTxSlCvBPlKv+9Xx/9F/en/4Oj4J4P/k8GoKgAA",
    };

    // Two xz streams ("first stream, " and "second stream"), as `printf … | xz` writes them.
    private const string FirstXzStream = "/Td6WFoAAATm1rRGAgAhARYAAAB0L+WjAQANZmlyc3Qgc3RyZWFtLCAAAAB5rGgawrb0hgABJg4IG+AEH7bzfQEAAAAABFla";
    private const string SecondXzStream = "/Td6WFoAAATm1rRGAgAhARYAAAB0L+WjAQAMc2Vjb25kIHN0cmVhbQAAAAB+ZEwQYfcJeAABJQ1xGcS2H7bzfQEAAAAABFla";

    // xz -6 -T1 --block-size=1MiB of PatternedData(4 MiB): 4 blocks, 3620 bytes.
    private const int LargeSize = 4 * 1024 * 1024;
    internal const string LargeXz =
        "/Td6WFoAAATm1rRGAgAhARYAAAB0L+Wj7///A19dAABqmWe5iPEdYZ0RLvIB6q05Be6EQiWj8pjkRfyTUs33bAHK5KtbAmct7Yfu" +
        "RWHBz9J2i2d5YGnQnX095WTmxbmvoNDDmc7+wv4XAt4qUMKcgSDv23WR4pNF3nIArzf2DWBLqzrNYA4G7xP2KEEzNvlMcAUNVdUP" +
        "WqD0kJTXtVECAK+kYJzSp+kkoZO9Vx0J4b62736R0DojJqWcq+iILu476lbWFfdtHE7cY/Naqq505MRqDFY+65uyCFq3ZyPQkxWf" +
        "Cr71uIi4buuuLutFMaT65VKEwDDawT+DuXGj2+eam4GTWPZp30X1ZA9DCzI33r+IG8WmXYqHgiMWHzXIPUsgZt0oHEXuyZRwJ52Z" +
        "n87BLUCrk2vaBzHBApicBtPcf1pVraKsMv6d686xQIpiisBzWAJBQ92dc6XcYkjSYe0x0G7vtJKXbJjjBWboc+aLPhGAPASSyJrz" +
        "mzc5WNsRMCdBbqGNPziIZWf5zTDu8IhmXmS7zmkpdevMnS/tIK/xIMbqA+3lnUUoPyNFPciD9OZx7CfN3zGuvrPIB9PffvCKJ0Xz" +
        "uzhaAyD9fWr9bzIDNPC8bLXmd4o2K+I7XbGwrDPwNZk0pFE2xv6Y7heXWi6ned4ONFMqaQJlIZjWEDvTpjSK71b4s6qcQMcEh79g" +
        "6YOmktq3yMQD5KUcg5RTmmWvUaU/Uoo3qp4SPxlpxFP6WDgU6EpDgEcV06V3FvJZPbxx2W4XVY22r5c3Fk3M/2WNICmJQS1ZcBnF" +
        "Rh/8EtWIsZT5F0dtKjUEnsGzGFtkqWBGFDysCtwmot6KXsjiLroRzfUHprDwn9Ca7D032nxf9DCInAGTx9Pk/8yk6kDNTNhNcnVr" +
        "JsunZaHkzY5LjkrMG74eGc8CwDenFzqB7pURFQzQCObStu5a9rriSk7V68gghL8YzsOu/rXVX0tTHfjMJpUj+Ua0kmCAVH0/5nGB" +
        "y5uzYMJfwvV+CH/qSvCJjGWndn/nDlNEokVtdksW4EKrniAxZx7ohKtpjgc99QVkK/KR7JyGLwSZYSBm/P2FXrI15w8yONWz0EhH" +
        "Xfl6TtdGD3vrOY9EX03vh2EOyPqQ/JTV++AGezFqXxZ4OYySX5UmfVOuU+Vnt0DQNTc6flvNxaTZd/kFxtguFtQTu7IAAAB5k/5C" +
        "v32H3QIAIQEWAAAAdC/lo+///wNgXQAIADRjhXVdo2WjpSsnAvcHMGGqZbFQNw0/sFMD0xJk4Esbil1L68we+2rVRJUA14ufiLhE" +
        "WrdR6FS9euU0uiHtyWuk1bLZ0txwwWr0Zm8En6XHgaB9StNQj+TDkFWEswCfiacNkK5DDfWpbyzcV7j5ULYzUitl9/r+MpFrwGKH" +
        "ZZa62/A+M1ayRThccS52Pcm4Gt6HYQdFVA4xACygFgw4IxiEMGi7GuypTpOkx2A5nJSoYFnrHE7SNhqtvqNEuoKFqXcRgqfMbTQM" +
        "zh+Ana0dGz1woupR8Ecb3BGbiix3Biokxtg6XqSpzhxqnRsYrQNW8miQ2Vy4iQBYlOerIPQ+2XLdACELntOOOYJQOC4bxmaw5v0C" +
        "Gh2lgNxjJ3bq6pZx9/WXZjMOBX1aHWGOE/VwtDgWTT4K3jdEdk9567miGoQXwRuoJeHzDLrHCJwNFOJmeKHkV2n1gaCYjm2uoX4l" +
        "8I7gJjt8xWBih60xB2LcnpAJ4qmR5eTLw9brpy+BRvh8TcaltPr9l/vaSdxUVUVIqmesc2TMXPkI0uvg/QA6AJG0xCjZgcF1W+8b" +
        "Z5Sio14V16Gz97mx+Wi1mwb6JUk2tD9WpC7lLDZ/e81XpuZr/88FsWlVq0TiEkqIBTV4irVor2J0qxXggjCCcOABsssdY+5DOhS8" +
        "QSPsCjlEsPZeDVR9/M1WxzsQqJoTWc9y+Os8UKY+1cbrBlV96rfSShzsmHC0OSqokSDPt9SeevspiuZXP5r6MspYDECj/fSfRLmt" +
        "7crnj7CBX3h5izvsbTbhu3ACjxFpnSOYPHtVsFn+ICpKCzcvFOekqgpF6blKSoADm5fkclvj6uOdg3yUrWgeRMxpBCcoGA8WOOR2" +
        "2YTcvagmGhzxt9uMit34AO+TIL0f7kWcbDUUDjyei8l4kiAZO4TE5HAlzTMAjnprhepujBLDYyCOiNXb0tUXgEeTSIh/9Ton+evB" +
        "gIZUPuo0lWzOL7Z4VWOqdaYbQkdhe1vwgGn/B+mwvBaZDMgdnxjszldYnF4k3KIomwG6o+dV4pQeUU6wfMd4bXMbxW/GQcYENmuL" +
        "pLq11/ZOw0DTejs8mN+HT7gd28K+p0A1C9efYkogLwa8g+uDstLdsJp+6Qy08NbzrOVijJYBJOi+RpisNQAAqWZOxbTmbesCACEB" +
        "FgAAAHQv5aPv//8DX10AEAAxAKGchZozq5DlP7zY0qganLZBQj9blvmufFfKq6OabnL5tBE/eea4FQmu6tDSHL17DJvXRJ78+WFv" +
        "DCxQnIy9EVbNLtcN0oJy/rM1d/GXztBayJ9ML/9Id94lUVbnMnWmTo/i4uykPu2kFFAOVyKKQRERmp3epjs92+pVC5FnRRQ74nhf" +
        "scRZo/6jkBcj467OntI4LLHOWpjkfdZ1JVu5tHilux5tGDGCtDs+eLUtuhsYdcSUDPkjJKankDJLhsu2JoGo01yl8rpM7H9HVBjM" +
        "ZCMHtrOWypPMNovcAoUvHDFPkLnQ52wuKNNJ/pyes+LPR3+NWDDtgocGKEGrHiNmauC6QYpPSnfpAXh1qysJx+Mn8zjufi7Gdzl2" +
        "g2WQGrRoyUg/kywAjudJE7YxsQ39pzFQiJ7Ty1cbTrzSMwO2MdrrLWa/usXhNjf8i8qevUI3n2EgabIFH3zHvyq9O3FFRxVmOAUS" +
        "2q+4HLS5q3BgSnFTsTqDvaV+vDXHd0Vc49MmKhX7WXaS3dMEEhylU1ZyP4UgQs1uqNPwhlgiRhGGGCecOfzfqnaBMHK/4b+V1gGS" +
        "ei/Z3GdxAEhgnSLjsFg4IjWgs3dajVn8lnZ9HkCrmpu4bi5KCnwTvfbYcir7g2a0IIZMoUWe2NY1lqxto7gfYEv/7T411FunauJz" +
        "inpWpYMt7Gby1JUTRpDyj7vzsxttXhiIlB9OF1PMS9xXUUMcq8VL4++546Esiqu1nFzTtlOtVi+zXmLVaiP9JcoxaF8khUS/z1/7" +
        "u95yIJrZ0DzJCuXNgTZv7ngR1x0Yg1orys8ttiIo3cJ6WUO4sxvp97SaSdILf25YNaOj5buQ4ST0JZqVp70cvrMRZGGAKT4hpMS8" +
        "k2lgtivhukZmqg5MCk0gOEmcMexIxpN6fwwUyk0FKB2yDUmi3kJRI33xBupSftemBUwz8SRzpIibsmFAnkaKl6l8Wk1fwn+Ow4CU" +
        "Nw5NZVBFreAX/Eq6qdqsVlUiTq4HTU8+tHJPQQAVziNZcvvypJvVw6kWPZC1pnWasK1fd4qyQP+e+r7c+n7Mej9lhLpthu7ZwP5G" +
        "xWOiKGLS0dNACwyPgJ4AHU0JUbSgi1Pwltt/mfjI+6jvWbldmFjYFNUTt/v8xtwocku8IBwAAOvU8Gb+ta4VAgAhARYAAAB0L+Wj" +
        "7///A19dABgAMR3u1+HrCLVYlU6TgRpnY+6l0mBvnQw0zTWaXlxFIr+3PAsmu3C6BcRU3vJRuFbnvzzk/xTac5ES26gJnxz8F73z" +
        "Jej8KqODGLxg8O9CWsu3nWMOAWENNFwMPFM5MfAhq5E//CoQAdKhfcBflDtpgnC+C5LZo8JNRjsUD7pQ+VAyHQD6g/DSfGeeoQdH" +
        "fgnEPd2VaRUhbXLzCFeerJvEy3OmSJl9svY7qqi/j1OQ8CBrzhIGHa6b0eapZKtjJ3qrOS0OCeaA7NKatl8GFwhaX3bKNKJbzyCB" +
        "hVI9M7XpMUHShbjTh9GX8mUUaarlWLHUm+DcsmG7MYBCLT/SwqkZR3eGpzskvLMnMMblzDOdPIiTCa2FuHVOA016oVTVZOEQsTxD" +
        "0SVM1g0UnjotmP++TNimzYryqRBCtWCYS1EiR2XpRcmA49mRLkpmcWSkae7FRyrm5jDi8rUB4hPySrFq3KE8rpWU/mXgKvE0ISr2" +
        "XjjJSGuQjhnkUuhxFDUR+ue59bfJvm9aQ93dlcSs2ADbx2OK6euO+2QbCqONwHa+TzPCHDkHO9Yi+jGlDaFEBECj0Tz96u08a7yd" +
        "HlvKUeS+gnrvQY0oWq7yPw802f48GNOqJziT692XnZBReA4Gc5zGZ6U61CetACR85bMTlyn1o1Ql1taQUs5BIlMvDyJoUIyWREPK" +
        "JdhZ7YO1/Wd0+FnvcueVlx0W9zJEhowRfG5ziFaRFhJPipd1Rjeif+9RdGl0Vjr4VRrpLgDmmvZJmT56wnCzccKmq+6RNCRpXc0z" +
        "EnWIfB8UJt3REOk4oIPSC2MK/MzDTZP4J5a3F6kwPrCYGrU/sbwGd/OVqtUAQgAHJU1JapdsZVIr71jjSBc8tCGDosMGOgTLskDY" +
        "nZ7FihPOLC/06S10OlY+mxgBLFn4EoTYL1nQUi7mf/pMiT4Eouwwg8JErWN4P7zfkeW/PdDyadoWezhvLesaeq7iyjS1r6QCY/gB" +
        "LnOChWSrwAiFXN2Kgb6tXtIeknC8COVtHRBwmLzMl5OUGW5Iym1FLSOVmro+biutKbLBaxgjfPEEyEorRmK+IzNH2z0p/+H1hM28" +
        "a2+dKbkRdHSYVMMdd2ESaM9Pdv5Z7UurNa5BmRCEa1AVH/0ygiab1E89YbxqAADsPW8LsPd6VgAE+waAgED8BoCAQPsGgIBA+waA" +
        "gEAAANJwl7qnhvZgBgAAAAAEWVo=";

    [Theory]
    [InlineData("xz")]
    [InlineData("zstd")]
    [InlineData("bzip2")]
    [InlineData("gzip")]
    [InlineData("none")]
    public void EveryCompressionOfAPathUncompressesToItsNar(string compression)
    {
        var nar = Decompress(RefTest[compression], compression);

        Assert.Equal(Convert.FromBase64String(RefTestNar), nar);
        Assert.Equal(RefTestNarSha256, Sha256(nar));
    }

    [Theory]
    [InlineData("xz")]
    [InlineData("zstd")]
    [InlineData("bzip2")]
    [InlineData("gzip")]
    public void ADirectorysNarUncompressesToWhatNixStoreDumpWrites(string compression)
    {
        var nar = Decompress(DirTest[compression], compression);

        Assert.Equal(DirTestNarSize, nar.Length);
        Assert.Equal(DirTestNarSha256, Sha256(nar));
    }

    [Fact]
    public void AnEmptyCompressionIsNone() => Assert.Equal(Convert.FromBase64String(RefTestNar), Decompress(RefTestNar, string.Empty));

    [Theory]
    [InlineData("xz", true)]
    [InlineData("zstd", true)]
    [InlineData("bzip2", true)]
    [InlineData("gzip", true)]
    [InlineData("none", true)]
    [InlineData("", true)]
    [InlineData("br", false)]
    [InlineData("lz4", false)]
    [InlineData("XZ", false)]
    [InlineData("zst", false)]
    public void TheSupportedCompressionsAreNixsNames(string compression, bool supported) =>
        Assert.Equal(supported, NarCompression.IsSupported(compression));

    [Theory]
    [InlineData("br")]
    [InlineData("lzip")]
    public void AnUnknownCompressionIsNotSupportedAndTheMessageSaysWhatIs(string compression)
    {
        var e = Assert.Throws<NotSupportedException>(() => NarCompression.Decompress(new MemoryStream([1, 2, 3]), compression));

        Assert.Contains($"'{compression}'", e.Message, StringComparison.Ordinal);
        Assert.Contains("xz, zstd, bzip2, gzip, none", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AMultiBlockXzStreamIsReadInPiecesOfAnySizeFromANonSeekableSource()
    {
        var compressed = Convert.FromBase64String(LargeXz);
        using var source = new TrickleStream(compressed, chunk: 300);
        using var nar = Open(source, "xz");
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[100_000];
        int[] sizes = [1, 7, 4096, 65_537, 100_000, 13];
        long total = 0;
        for (var i = 0; ; i++)
        {
            var read = nar.Read(buffer, 0, sizes[i % sizes.Length]);
            if (read == 0)
            {
                break;
            }

            sha.AppendData(buffer, 0, read);
            total += read;
        }

        Assert.Equal(LargeSize, total);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(PatternedData(LargeSize))), Convert.ToHexStringLower(sha.GetHashAndReset()));
    }

    [Theory]
    [InlineData("xz", 1)]
    [InlineData("xz", 7)]
    [InlineData("zstd", 1)]
    [InlineData("zstd", 7)]
    [InlineData("bzip2", 1)]
    [InlineData("bzip2", 7)]
    [InlineData("gzip", 1)]
    [InlineData("gzip", 7)]
    public void ASourceThatGivesAFewBytesAReadIsReadInFull(string compression, int chunk)
    {
        // Network streams return short reads; SharpCompress's xz reader took one for the end of a block header.
        using var nar = Open(new TrickleStream(Convert.FromBase64String(DirTest[compression]), chunk), compression);
        using var copy = new MemoryStream();

        nar.CopyTo(copy);

        Assert.Equal(DirTestNarSha256, Sha256(copy.ToArray()));
    }

    [Fact]
    public void TheCompressedStreamIsReadAsTheNarIsNotAllAtOnce()
    {
        var compressed = Convert.FromBase64String(LargeXz);
        using var source = new TrickleStream(compressed, chunk: 256);
        using var nar = Open(source, "xz");

        var first = new byte[1000];
        nar.ReadExactly(first);

        Assert.Equal(PatternedData(1000), first);
        Assert.True(source.Consumed < compressed.Length / 2, $"{source.Consumed} of {compressed.Length} compressed bytes read for the first 1000 bytes");
    }

    [Fact]
    public void XzStreamsOneAfterAnotherReadAsOne()
    {
        byte[] concatenated = [.. Convert.FromBase64String(FirstXzStream), 0, 0, 0, 0, 0, 0, 0, 0, .. Convert.FromBase64String(SecondXzStream)];

        Assert.Equal("first stream, second stream"u8.ToArray(), Decompress(concatenated, "xz"));
    }

    [Fact]
    public void XzStreamPaddingThatIsNotAMultipleOfFourIsCorrupt()
    {
        byte[] concatenated = [.. Convert.FromBase64String(FirstXzStream), 0, 0, 0, .. Convert.FromBase64String(SecondXzStream)];

        var e = Assert.Throws<InvalidDataException>(() => Decompress(concatenated, "xz"));

        // liblzma reads the padding itself and says only that the data is corrupt.
        Assert.Contains(UsesLiblzma ? "the xz data is corrupt" : "multiple of 4", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void XzGoesThroughTheSystemsLiblzmaOnLinuxAndSharpCompressWhenTold()
    {
        // Every Linux this runs on has liblzma (xz links it): its absence here would leave the native tests untested.
        Assert.True(Nixery.Build.BinaryCache.NativeXz.IsAvailable || !OperatingSystem.IsLinux(), "no liblzma.so.5 on this Linux");
        Assert.Equal(UsesLiblzma, NarCompression.XzDecoder(NativeXz).StartsWith("liblzma ", StringComparison.Ordinal));
        Assert.Equal("SharpCompress", NarCompression.XzDecoder(nativeXz: false));
    }

    [Theory]
    [InlineData("xz")]
    [InlineData("zstd")]
    [InlineData("bzip2")]
    [InlineData("gzip")]
    public void ACutShortNarIsInvalidData(string compression)
    {
        var compressed = Convert.FromBase64String(DirTest[compression]);

        foreach (var length in new[] { 1, 10, compressed.Length / 2, compressed.Length - 1 })
        {
            var e = Assert.Throws<InvalidDataException>(() => Decompress(compressed[..length], compression));
            Assert.StartsWith($"The {compression}-compressed NAR is corrupt or cut short: ", e.Message, StringComparison.Ordinal);
            Assert.NotNull(e.InnerException);
        }
    }

    [Theory]
    [InlineData("xz", 0)]
    [InlineData("xz", 300)]
    [InlineData("xz", 655)]
    [InlineData("zstd", 0)]
    [InlineData("zstd", 765)]
    [InlineData("bzip2", 5)]
    [InlineData("bzip2", 400)]
    [InlineData("gzip", 3)]
    [InlineData("gzip", 500)]
    [InlineData("gzip", 948)]
    public void CorruptDataIsInvalidData(string compression, int position)
    {
        var compressed = Convert.FromBase64String(DirTest[compression]);
        compressed[position] ^= 0x55;

        var e = Assert.Throws<InvalidDataException>(() => Decompress(compressed, compression));

        Assert.NotNull(e.InnerException);
    }

    [Fact]
    public void ZstdAsNixWritesItHasNoChecksumSoOnlyTheNarHashCatchesSomeCorruption()
    {
        // A flipped bit in a literal decodes to another byte without an error: why the caller checks NarHash.
        var compressed = Convert.FromBase64String(DirTest["zstd"]);
        compressed[386] ^= 0x01;

        Assert.NotEqual(DirTestNarSha256, Sha256(Decompress(compressed, "zstd")));
    }

    [Theory]
    [InlineData("xz")]
    [InlineData("zstd")]
    [InlineData("bzip2")]
    [InlineData("gzip")]
    [InlineData("none")]
    public void NothingAtAllIsInvalidData(string compression) =>
        Assert.Throws<InvalidDataException>(() => Decompress(Array.Empty<byte>(), compression));

    [Theory]
    [InlineData("xz")]
    [InlineData("zstd")]
    [InlineData("none")]
    public void AFailingSourceFailsAsItselfNotAsBadData(string compression)
    {
        var compressed = Convert.FromBase64String(compression == "none" ? RefTestNar : compression == "xz" ? LargeXz : DirTest[compression]);
        var failure = new IOException("connection reset");
        using var nar = Open(new TrickleStream(compressed, chunk: 64, failAfter: 100, failure), compression);

        var e = Assert.Throws<IOException>(() => nar.CopyTo(Stream.Null));

        Assert.Same(failure, e);
    }

    [Theory]
    [InlineData("xz")]
    [InlineData("none")]
    public void DisposingTheNarDisposesTheCompressedStream(string compression)
    {
        var source = new TrickleStream(Convert.FromBase64String(RefTest[compression]), chunk: 1000);
        var nar = Open(source, compression);
        nar.ReadByte();

        nar.Dispose();

        Assert.True(source.Disposed);
        Assert.Throws<ObjectDisposedException>(() => nar.ReadByte());
    }

    [Fact]
    public void TheNarStreamIsForwardOnly()
    {
        using var nar = Open(new MemoryStream(Convert.FromBase64String(RefTest["xz"])), "xz");

        Assert.True(nar.CanRead);
        Assert.False(nar.CanSeek);
        Assert.False(nar.CanWrite);
        Assert.Throws<NotSupportedException>(() => nar.Length);
        nar.ReadExactly(new byte[10]);
        Assert.Equal(10, nar.Position);
    }

    /// <summary>
    /// 4 MiB that xz compresses to little but that is not one repeated byte: a 509-byte xorshift pattern, repeated,
    /// with the 64 KiB chunk's number written over its first 8 bytes.
    /// </summary>
    private static byte[] PatternedData(int length)
    {
        const int Period = 509;
        const int MarkEvery = 64 * 1024;
        var pattern = new byte[Period];
        var x = 0x2545F491u;
        for (var i = 0; i < Period; i++)
        {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            pattern[i] = (byte)x;
        }

        var all = new byte[Math.Max(length, 8)];
        for (var i = 0; i < all.Length; i++)
        {
            all[i] = pattern[i % Period];
        }

        for (var start = 0; start + 8 <= all.Length; start += MarkEvery)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(all.AsSpan(start, 8), (ulong)(start / MarkEvery));
        }

        return all[..length];
    }

    /// <summary>Whether xz may go through liblzma (where the system has it).</summary>
    protected virtual bool NativeXz => true;

    private bool UsesLiblzma => NativeXz && Nixery.Build.BinaryCache.NativeXz.IsAvailable;

    private Stream Open(Stream compressed, string compression) => NarCompression.Decompress(compressed, compression, NativeXz);

    private byte[] Decompress(string base64, string compression) => Decompress(Convert.FromBase64String(base64), compression);

    private byte[] Decompress(byte[] compressed, string compression)
    {
        using var nar = Open(new MemoryStream(compressed), compression);
        using var copy = new MemoryStream();
        nar.CopyTo(copy);
        return copy.ToArray();
    }

    private static string Sha256(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

    /// <summary>
    /// A network-like source: not seekable, no position, at most <c>chunk</c> bytes a read, optionally failing after
    /// <c>failAfter</c> bytes; counts what was read and whether it was disposed.
    /// </summary>
    private sealed class TrickleStream(byte[] data, int chunk, int failAfter = int.MaxValue, Exception? failure = null) : Stream
    {
        public int Consumed { get; private set; }

        public bool Disposed { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            ObjectDisposedException.ThrowIf(Disposed, this);
            if (Consumed >= failAfter && failure is not null)
            {
                throw failure;
            }

            var read = Math.Min(Math.Min(count, chunk), data.Length - Consumed);
            data.AsSpan(Consumed, read).CopyTo(buffer.AsSpan(offset));
            Consumed += read;
            return read;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            Disposed = true;
            base.Dispose(disposing);
        }
    }
}

/// <summary>Every test of <see cref="NarCompressionTests"/> with xz through SharpCompress, the fallback without liblzma.</summary>
public sealed class NarCompressionWithSharpCompressTests : NarCompressionTests
{
    protected override bool NativeXz => false;
}
