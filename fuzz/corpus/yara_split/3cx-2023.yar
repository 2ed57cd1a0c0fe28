/*
 * chainsweep pack 3cx-2023: YARA rules for the 3CX DesktopApp / X_TRADER
 * supply-chain compromise. Written for chainsweep from the facts collected in
 * ../shared/intel/3cx-2023.md; each rule names the public report it follows.
 */
import "pe"

rule CS_3CX_RC4_Key_Mar23
{
    meta:
        author = "chainsweep"
        description = "RC4 key used by the trojanized 3CX ffmpeg.dll to decrypt the payload hidden in d3dcompiler_47.dll"
        reference = "https://www.elastic.co/security-labs/elastic-users-protected-from-suddenicon-supply-chain-attack"
        date = "2026-11-28"
        score = 85
    strings:
        $key = "3jB(2bsG#@c7" ascii wide
    condition:
        (uint16(0) == 0x5A4D or uint32(0) == 0xE011CFD0) and $key
}

rule CS_3CX_FEEDFACE_In_Certificate_Table_Mar23
{
    meta:
        author = "chainsweep"
        description = "SigFlip-style FE ED FA CE FE ED FA CE payload marker inside a PE's Authenticode certificate table, as in the 3CX d3dcompiler_47.dll"
        reference = "https://github.com/med0x2e/SigFlip"
        date = "2026-11-28"
        score = 90
    strings:
        $marker = { FE ED FA CE FE ED FA CE }
    condition:
        uint16(0) == 0x5A4D and
        pe.data_directories[pe.IMAGE_DIRECTORY_ENTRY_SECURITY].size > 0 and
        for any i in (1 .. #marker) : (
            @marker[i] >= pe.data_directories[pe.IMAGE_DIRECTORY_ENTRY_SECURITY].virtual_address and
            @marker[i] < pe.data_directories[pe.IMAGE_DIRECTORY_ENTRY_SECURITY].virtual_address +
                         pe.data_directories[pe.IMAGE_DIRECTORY_ENTRY_SECURITY].size
        )
}

rule CS_3CX_AVMonitorRefreshEvent_Mar23
{
    meta:
        author = "chainsweep"
        description = "Event name created by the DllMain of the trojanized 3CX ffmpeg.dll loader"
        reference = "https://www.elastic.co/security-labs/elastic-users-protected-from-suddenicon-supply-chain-attack"
        date = "2026-11-28"
        score = 75
    strings:
        $event = "AVMonitorRefreshEvent" wide ascii
    condition:
        uint16(0) == 0x5A4D and $event
}

rule CS_3CX_IconStorages_Dead_Drop_Mar23
{
    meta:
        author = "chainsweep"
        description = "GitHub IconStorages icon URL pattern used by the 3CX SUDDENICON payload to fetch its C2 address"
        reference = "https://www.volexity.com/blog/2023/03/30/3cx-supply-chain-compromise-leads-to-iconic-incident/"
        date = "2026-11-28"
        score = 85
    strings:
        $url1 = "raw.githubusercontent.com/IconStorages/images/main/icon" ascii wide nocase
        $url2 = "IconStorages/images/main/icon%d.ico" ascii wide nocase
        $cookie1 = "__tutma" ascii wide
        $cookie2 = "__tutmc" ascii wide
        $fmt = "icon%d.ico" ascii wide
    condition:
        filesize < 20MB and (1 of ($url*) or ($fmt and all of ($cookie*)))
}

rule CS_3CX_ICO_Base64_C2_Blob_Mar23
{
    meta:
        author = "chainsweep"
        description = "ICO file with a '$' and a base64 blob after the PNG IEND chunk, how the 3CX payload hid its encrypted C2 URL"
        reference = "https://github.com/volexity/threat-intel/tree/main/2023/2023-03-30%203CX"
        date = "2026-11-28"
        score = 80
    strings:
        $blob = /IEND\xAE\x42\x60\x82\$[A-Za-z0-9+\/=]{32}/
    condition:
        uint32(0) == 0x00010000 and filesize < 120KB and
        for any i in (1 .. #blob) : (@blob[i] >= filesize - 500)
}

rule CS_3CX_macOS_UpdateAgent_Mar23
{
    meta:
        author = "chainsweep"
        description = "Strings of the 3CX macOS libffmpeg.dylib backdoor and its UpdateAgent second stage"
        reference = "https://objective-see.org/blog/blog_0x74.html"
        date = "2026-11-28"
        score = 80
    strings:
        $storage = "%s/.main_storage" ascii
        $agent = "%s/UpdateAgent" ascii
        $cookie = "3cx_auth_id=%s;3cx_auth_token_content=%s;__tutma=true" ascii
        $exfil = "sbmsa.wiki/blog/_insert" ascii
    condition:
        (uint32(0) == 0xFEEDFACF or uint32(0) == 0xCFFAEDFE or uint32(0) == 0xFEEDFACE or
         uint32(0) == 0xCEFAEDFE or uint32(0) == 0xBEBAFECA) and
        (($storage and $agent) or $cookie or $exfil)
}

rule CS_3CX_Signed_In_Compromise_Window_Mar23
{
    meta:
        author = "chainsweep"
        description = "PE signed with the 3CX Ltd certificate (serial 1B 66 11 DF ...) and built between 29 Nov 2022 and 30 Mar 2023, the window of the trojanized releases"
        reference = "https://www.volexity.com/blog/2023/03/30/3cx-supply-chain-compromise-leads-to-iconic-incident/"
        date = "2026-11-28"
        score = 70
    condition:
        uint16(0) == 0x5A4D and
        pe.timestamp > 1669680000 and pe.timestamp < 1680220800 and
        for any i in (0 .. pe.number_of_signatures - 1) : (
            pe.signatures[i].serial == "1b:66:11:df:9c:9a:4d:6e:cc:8e:d5:0c:9b:91:78:73"
        )
}

rule CS_XTRADER_Signing_Certificate_Apr23
{
    meta:
        author = "chainsweep"
        description = "PE signed with the Trading Technologies certificate (serial 00 85 38 A6 C5 01 8F 50 FC, Go Daddy G2) and built after 1 May 2022, after X_TRADER was retired; the trojanized X_TRADER installer carried it"
        reference = "https://cloud.google.com/blog/topics/threat-intelligence/3cx-software-supply-chain-compromise/"
        date = "2026-11-28"
        score = 75
    condition:
        uint16(0) == 0x5A4D and pe.timestamp > 1651363200 and
        for any i in (0 .. pe.number_of_signatures - 1) : (
            (pe.signatures[i].serial == "00:85:38:a6:c5:01:8f:50:fc" or
             pe.signatures[i].serial == "85:38:a6:c5:01:8f:50:fc") and
            pe.signatures[i].issuer contains "Go Daddy Secure Certificate Authority - G2"
        )
}

rule CS_VEILEDSIGNAL_Pipe_Apr23
{
    meta:
        author = "chainsweep"
        description = "Named pipe of the VEILEDSIGNAL C2 module delivered through the trojanized X_TRADER"
        reference = "https://symantec-enterprise-blogs.security.com/threat-intelligence/xtrader-3cx-supply-chain"
        date = "2026-11-28"
        score = 80
    strings:
        $pipe = "\\\\.\\pipe\\gecko.nativeMessaging" ascii wide
    condition:
        uint16(0) == 0x5A4D and $pipe
}

rule CS_POOLRAT_Multipart_Boundary_Apr23
{
    meta:
        author = "chainsweep"
        description = "Multipart boundary and form field format of the POOLRAT backdoor used inside 3CX's network"
        reference = "https://www.3cx.com/blog/news/mandiant-initial-results/"
        date = "2026-11-28"
        score = 80
    strings:
        $boundary = "--N9dLfqxHNUUw8qaUPqggVTpX-" ascii
        $uid = "name=\"uid\"%s%s%u%s" ascii
    condition:
        filesize < 10MB and ($boundary or $uid)
}
