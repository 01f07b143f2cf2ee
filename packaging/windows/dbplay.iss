; Inno Setup script: the Windows installer of dbplay, from the one-folder bundle.
;
;   bash packaging/build.sh            (on Windows, in Git Bash: builds dist\dbplay\)
;   iscc packaging\windows\dbplay.iss  (writes dist\dbplay-<version>-windows-setup.exe)
;
; Installs dist\dbplay\* into Program Files\dbplay (or the user's programs folder when
; not run as administrator), a Start-menu shortcut, and the .dbtpl association: a
; double-click on a template runs "dbplay.exe" "<file>", which hands the file to the
; running window if there is one. The uninstaller removes the files, the shortcut and
; the association.

#define AppName "dbplay"
#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define ProgId "dbplay.template"

[Setup]
AppId={{6F1C2B7E-5D3A-4B8E-9C41-DB9A1A7E0C11}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=dbplay
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
ChangesAssociations=yes
UninstallDisplayIcon={app}\dbplay.exe
SourceDir=..\..
OutputDir=dist
OutputBaseFilename=dbplay-{#AppVersion}-windows-setup
Compression=lzma2
SolidCompression=yes
#if FileExists(AddBackslash(SourcePath) + "..\icons\dbplay.ico")
SetupIconFile=packaging\icons\dbplay.ico
#endif

[Files]
Source: "dist\dbplay\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\dbplay.exe"

[Registry]
; HKA is HKLM for an administrative install and HKCU for a per-user one.
Root: HKA; Subkey: "Software\Classes\.dbtpl"; ValueType: string; ValueName: ""; ValueData: "{#ProgId}"; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.dbtpl"; ValueType: string; ValueName: "Content Type"; ValueData: "application/x-dbplay-template"; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.dbtpl\OpenWithProgids"; ValueType: string; ValueName: "{#ProgId}"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\{#ProgId}"; ValueType: string; ValueName: ""; ValueData: "dbplay template"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\{#ProgId}\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\dbplay.exe,0"
Root: HKA; Subkey: "Software\Classes\{#ProgId}\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\dbplay.exe"" ""%1"""
Root: HKA; Subkey: "Software\Classes\Applications\dbplay.exe\SupportedTypes"; ValueType: string; ValueName: ".dbtpl"; ValueData: ""; Flags: uninsdeletekey

[Run]
Filename: "{app}\dbplay.exe"; Description: "Start dbplay"; Flags: nowait postinstall skipifsilent
