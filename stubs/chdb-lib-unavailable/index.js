throw new Error('this chDB platform library is not available in this build of podwire (linux x64 only)');
